// A whole compression job: open the model once, resolve the job against its format
// (resolveJob.ts), then run the stages — analyse, measure sensitivity, refine, factorise, guard,
// fine-tune — and write atomically with a report. Every step that runs the model goes through
// the format's runner (runners/runner.ts); nothing here depends on which format it is.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Analysis } from '../analysis.js';
import type { Engine } from '../engines/engine.js';
import type { Tensor } from '../eval/tensor.js';
import { defaultOutput, endingOf, formatOf, formatsWith, outputOverhead } from '../formats/registry.js';
import { capabilitiesOf, type FormatModule } from '../formats/format.js';
import type { StoredModel } from '../formats/storedModel.js';
import { AtomicOutput, removeStaleTemporaries } from '../io/atomicOutput.js';
import { lanesFor, lanesOn, mapInLanes } from '../lanes.js';
import { breakEvenRank } from '../ranks/ranks.js';
import type { FinetuneRuntime, ModelRunner } from '../runners/runner.js';
import type { Layer } from '../types.js';
import { checkpoint, InputError, stageOf, throwIfAborted, type JobOptions } from '../types.js';
import { heldOut, type FinetuneResult } from './distil.js';
import { factorsInMemory, loadAll } from './factorSource.js';
import { FactorSpill } from './factorSpill.js';
import { chooseMethod, type MethodChoice } from './guard.js';
import { makePlan, type Goal } from './plan.js';
import { deepCuts, describeDeepCuts } from '../ranks/deepCuts.js';
import { refinementInputs, refinePlan, type Refinement } from './refine.js';
import { relayoutShape } from './relayout.js';
import { predictBytes, storageName, type CompressReport } from './report.js';
import { resolveJob, stageOptions, type JobPlan } from './resolveJob.js';
import { plainStrategy, relayoutStrategy, whitenedStrategy, withSensitivity, type Strategy } from './strategy.js';
import { Reductions } from './reductions.js';
import type { Allocation, FactorSource, Method, Plan, StorageDType } from './types.js';

export interface CompressOptions extends JobOptions {
  goal: Goal;
  dtype?: StorageDType;
  out?: string;
  force?: boolean;
  /** Write a data-free plan even when it cuts layers deeply (deepCuts.ts); refused otherwise. */
  allowDeepCuts?: boolean;
  /**
   * The engine, or how to start one: then it is started once every check before work has
   * passed (a mistyped path is refused without waiting for Python to import torch) and closed
   * when the job ends.
   */
  engine: Engine | (() => Promise<Engine>);
  /** Reuse an analysis already computed for this file (the IDE has one cached): its plain spectra are not computed again. */
  analysis?: Analysis;
  method?: Method;
  /** Default for --method whitened: 'sensitivity' where the format's runner measures it cheaply (resolveJob.ts); otherwise 'spectrum'. */
  allocation?: Allocation;
  /** Unlabeled inputs for whitening, sensitivity, the refinement, the guard and fine-tuning. */
  calibration?: Tensor;
  /** Fine-tuning steps after factorising (formats whose runner trains). */
  finetune?: number;
  /** `file.py:factory`: the module that runs a PyTorch or safetensors checkpoint (runners/torch.ts), run by `python`. */
  torchModel?: string;
  python?: string;
  /** Where ONNX fine-tuning runs (runner.ts's FinetuneRuntime; the CLI derives it from --engine). */
  finetuneIn?: FinetuneRuntime;
}

/** Whether factorising the layer can store it in fewer parameters, in the layout the method factorises. */
function gains(l: Layer, method?: Method): boolean {
  const { rows, cols } = l.matrix;
  const { p, q } = method === 'relayout' ? relayoutShape(rows, cols) : { p: rows, q: cols };
  return l.factorisable && breakEvenRank(p, q) > 0;
}

/** The job's plan for this model and format: every option checked before any work. */
export function planJob(model: StoredModel<unknown>, format: FormatModule, o: CompressOptions): JobPlan {
  return resolveJob({
    goal: o.goal, method: o.method, allocation: o.allocation, dtype: o.dtype, calibration: o.calibration?.shape[0], finetune: o.finetune,
    out: resolve(o.out ?? defaultOutput(model.path, format)),
  }, {
    path: model.path, format: model.format, files: model.files, fileBytes: model.fileBytes,
    factorisable: model.layers.filter((l) => gains(l, o.method)).length, totalParams: model.totalParams, sharedParams: model.sharedParams,
    capabilities: capabilitiesOf(format, o.torchModel !== undefined), withModule: o.torchModel ? undefined : format.withModule,
    runsWritten: format.runsWritten === true,
    formatsWith,
    outputEnding: format.outputExtension ?? endingOf(model.path, format),
  });
}

export async function compressFile(path: string, o: CompressOptions): Promise<CompressReport> {
  const startedAt = Date.now();
  const format = await formatOf(resolve(path));
  const model = await format.read(resolve(path));
  let runner: ModelRunner | undefined;
  let started: Engine | undefined;
  try {
    const job = planJob(model, format, o);
    const stage = (name: Parameters<typeof stageOptions>[2]): JobOptions => stageOptions(job, o, name);
    const { out, runs } = job;
    // Asked before any work, not after it: the writer's own check (AtomicOutput) stays for a file that appears meanwhile.
    if (!o.force && await stat(out).then(() => true, () => false)) throw new InputError(out, 'output exists (use --force to replace it)', 'output-exists');
    // A killed run's temporaries for this output (the writer clears those of the other files it writes).
    for (const f of [out, `${out}.report.json`]) await removeStaleTemporaries(f, startedAt);
    if (o.calibration && format.runner) {
      // Running the model computes with every tensor, not only the layers' (checked as they are read).
      await model.checkNoNaN();
      runner = format.runner(model, { out, dtype: o.dtype, torchModel: o.torchModel, python: o.python, finetuneIn: o.finetuneIn });
      // A model that cannot run (a bad module, a folder's interpreter without transformers, an operator fine-tuning lacks) is refused before any work.
      await runner.ready?.({ finetune: Boolean(runs.finetune) });
    }
    // resolveJob plans model-running steps only where the capabilities say the format's runner has them.
    const needsRunner = (): ModelRunner => {
      if (!runner) throw new Error(`${format.id}: the job needs a runner the format does not have`);
      return runner;
    };
    const engine = typeof o.engine === 'function' ? (started = await o.engine()) : o.engine;
    const sink = new AtomicOutput(model.files, o.force, startedAt);
    try {
      const analysing = stage('analyse');
      const whitened = job.method === 'whitened' && !job.dense;
      // Plain SVD's spectra: the plan of --method svd, and of the layers whitening does not reach and the guard's candidate.
      // Their reductions wait in a scratch file for the same layers' SVDs.
      const plain = job.method === 'relayout' ? undefined
        : await plainStrategy(model, engine, whitened ? stageOf(analysing, 0, 0.4) : analysing, o.analysis, new Reductions(() => sink.scratch(out)));
      const base = whitened ? await whitenedStrategy(model, engine, o.calibration!, stageOf(analysing, 0.4, 0.6), needsRunner(), plain!)
        : job.method === 'relayout' ? await relayoutStrategy(model, engine, analysing) : plain!;
      const strategy = runs.sensitivity ? await withSensitivity(base, model, o.calibration!, stage('sensitivity'), needsRunner()) : base;
      // Finished factors wait in a scratch file, not in memory, while later layers are factorised.
      const factorAll = async (s: Strategy, plan: Plan, opts: JobOptions): Promise<FactorSource> => {
        // Full rank of the layout the strategy factorises (a re-layout's is its auxiliary matrix's).
        const full = new Map(s.analysis.layers.map((l) => [l.name, Math.min(l.rows, l.cols)]));
        const todo = model.layers.filter((l) => (plan.get(l.name) ?? Infinity) < (full.get(l.name) ?? 0));
        const spill = new FactorSpill(await sink.scratch(out));
        let done = 0;
        const names = await mapInLanes(todo, async (layer) => {
          await checkpoint(o.signal);
          await s.factor(layer, plan.get(layer.name)!, (f) => spill.put(f), spill);
          opts.progress?.report(++done / todo.length, `factorised ${layer.name}`);
          return layer.name;
        }, s === plain ? lanesOn(engine, model, todo) : lanesFor(todo));
        // Writers and the report list layers in the model's order.
        return spill.inOrder(names);
      };
      const held = o.calibration && heldOut(o.calibration);
      let plan = await makePlan(strategy.analysis, job.goal);
      // Said before any factor is computed, of data-free plans only: measured sensitivity or fine-tuning
      // answers for the model's output. A --ranks plan is the user's own choice (the panel warned).
      if (job.method === 'svd' && !runs.sensitivity && !runs.finetune && job.goal.kind !== 'ranks' && !o.allowDeepCuts) {
        const cuts = deepCuts(strategy.analysis, plan);
        if (cuts.length > 0) {
          throw new InputError(model.path, `${goalText(job.goal)} ${describeDeepCuts(cuts)}; plain SVD is likely to break the model: use --method whitened --calibration <inputs>, a larger ratio, or --allow-deep-cuts to write it anyway`, 'deep-cut');
        }
      }
      let refinement: Refinement | undefined;
      if (runs.refine) {
        const refined = await refinePlan(needsRunner(), model.layers, strategy, plan, refinementInputs(o.calibration!, held!), stage('refine'));
        if (refined) ({ plan, refinement } = refined);
      }
      let factors = await factorAll(strategy, plan, stage('factorise'));
      let methodChoice: MethodChoice | undefined;
      if (runs.guard && factors.shapes.size) {
        const svd = await factorAll(plain!, await makePlan(plain!.analysis, job.goal), stage('factorise-plain'));
        methodChoice = await chooseMethod(needsRunner(), { whitened: factors, svd }, held!);
        if (methodChoice?.kept === 'svd') factors = svd;
      }
      let finetune: FinetuneResult | undefined;
      const retrained = new Map<string, Float32Array>();
      if (runs.finetune && factors.shapes.size) {
        // Fine-tuning trains every factor at once, so they all come back into memory.
        const trained = await loadAll(factors);
        finetune = await needsRunner().finetune!(trained, o.calibration!, { steps: runs.finetune, ...stage('finetune') }, retrained);
        factors = factorsInMemory(trained);
      }
      o.progress?.report(1, 'writing');
      await format.write!(model, factors, out, sink, { dtype: o.dtype, retrained });
      throwIfAborted(o.signal);
      const report = reportOf(model, job, factors, sink, { ...o, engine }, { methodChoice, finetune, refinement });
      const rep = await sink.file(`${out}.report.json`);
      await rep.write(new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`));
      await sink.commit();
      o.progress?.report(1, 'done');
      return report;
    } catch (e) {
      await sink.abort();
      throw e;
    }
  } finally {
    await runner?.dispose();
    await started?.close();
    await model.close();
  }
}

interface Outcomes { methodChoice?: MethodChoice; finetune?: FinetuneResult; refinement?: Refinement }

function reportOf(model: StoredModel<unknown>, job: JobPlan, factors: FactorSource, sink: AtomicOutput, o: CompressOptions & { engine: Engine }, r: Outcomes): CompressReport {
  const predicted = predictBytes(model, factors.shapes, outputOverhead(model), o.dtype);
  const written = [...sink.sizes().values()].reduce((a, b) => a + b, 0);
  const { methodChoice, finetune, refinement } = r;
  return {
    originalParams: model.totalParams,
    compressedParams: predicted.params,
    originalBytes: model.fileBytes,
    compressedBytes: written,
    predictedBytes: predicted.bytes,
    layers: [...factors.shapes.values()].map((f) => ({
      name: f.layer.name, rank: f.rank, dtype: storageName(f.layer.dtype, o.dtype), relativeError: f.relativeError, ...(f.layout ? { layout: f.layout } : {}),
    })),
    source: model.path, output: job.out, files: [...sink.sizes().keys()], format: model.format, engine: o.engine.description,
    method: job.method, allocation: methodChoice?.kept === 'svd' && job.allocation ? 'spectrum' : job.allocation, methodChoice, finetune,
    ...(refinement && methodChoice?.kept !== 'svd' ? { refinement } : {}),
  };
}

/** The goal as the user gave it, for messages. */
function goalText(goal: Goal): string {
  return goal.kind === 'ratio' ? `--ratio ${goal.ratio}` : goal.kind === 'energy' ? `--energy ${goal.energy}` : `--ranks ${goal.file}`;
}
