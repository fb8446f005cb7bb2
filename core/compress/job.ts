// A whole compression job: analyse, plan, factorise, write atomically, report.
import { resolve } from 'node:path';
import type { Analysis } from '../analysis.js';
import type { Engine } from '../engines/engine.js';
import { openModel } from '../formats/open.js';
import { KerasModel, weightsByLayer } from '../formats/keras/read.js';
import type { StoredModel } from '../formats/storedModel.js';
import { defaultOutput, WRITERS } from '../formats/writers.js';
import { AtomicOutput } from '../io/atomicOutput.js';
import { InputError, stageOf, throwIfAborted, type JobOptions } from '../types.js';
import type { Tensor } from '../eval/tensor.js';
import { factorsInMemory, loadAll } from './factorSource.js';
import { FactorSpill } from './factorSpill.js';
import { heldOut, type FinetuneResult } from './distil.js';
import { finetuneOnnx } from './finetuneOnnx.js';
import { finetuneTfjs } from './finetuneTfjs.js';
import { layersSource, runsInTfjs, type LayersSource } from './layersModel.js';
import { chooseMethod, type MethodChoice } from './guardTfjs.js';
import { chooseMethodByRunning } from './guardRuntime.js';
import type { WrittenVariants } from './runWritten.js';
import { RUNTIMES } from '../eval/evaluate.js';
import { refinementInputs, refinePlan, type Refinement } from './refineTfjs.js';
import { plainStrategy, relayoutStrategy, whitenedStrategy, withSensitivity, type Strategy } from './strategy.js';
import { rewriteTopology } from '../formats/tfjs/layersWriter.js';
import { makePlan, type Goal } from './plan.js';
import { lanesFor, mapInLanes } from '../lanes.js';
import { predictBytes, storageName, type CompressReport } from './report.js';
import type { Allocation, FactorSource, Method, Plan, StorageDType } from './types.js';

export interface CompressOptions extends JobOptions {
  goal: Goal;
  dtype?: StorageDType;
  out?: string;
  force?: boolean;
  engine: Engine;
  /** Reuse an analysis already computed for this file (the IDE has one cached; plain SVD only). */
  analysis?: Analysis;
  method?: Method;
  /** Default for --method whitened: 'sensitivity' (needs calibration) where the model runs in TF.js, or in its own runtime and is cheap to probe; otherwise 'spectrum'. */
  allocation?: Allocation;
  /** Unlabeled inputs for whitening and fine-tuning. */
  calibration?: Tensor;
  /** Fine-tuning steps after factorising (TF.js layers, Keras and ONNX models). */
  finetune?: number;
}

/**
 * Probing sensitivity outside TF.js writes the whole model once per factorisable layer: the
 * default only where that stays under PROBE_BYTES (a large ONNX model keeps spectrum
 * allocation unless --allocation sensitivity asks).
 */
const PROBE_BYTES = 2 ** 31;
const cheapToProbe = (model: StoredModel): boolean => model.fileBytes * model.layers.filter((l) => l.factorisable).length <= PROBE_BYTES;

export async function compressFile(path: string, o: CompressOptions): Promise<CompressReport> {
  const model = await openModel(resolve(path)) as StoredModel;
  // The steps that run the model in TF.js share one read of its file.
  let tfModel: LayersSource | undefined;
  try {
    const writer = WRITERS[model.format];
    if (!writer) throw new InputError(path, `compressing ${model.format} models is not supported yet (analysis is)`);
    const out = resolve(o.out ?? defaultOutput(model.path, writer.ext));
    if (model.files.includes(out)) throw new InputError(out, 'output path is the input model; choose another -o');
    if ((o.method === 'whitened' || o.finetune) && !o.calibration) throw new InputError(path, `${o.method === 'whitened' ? '--method whitened' : '--finetune'} needs --calibration inputs`);
    // The steps that run the model (sensitivity, the guard, the refinement, fine-tuning) run it in
    // TF.js; sensitivity and the guard also run ONNX and graph models, written, in their own runtime.
    const keras = model instanceof KerasModel, inTfjs = runsInTfjs(model.format);
    const runsElsewhere = !inTfjs && RUNTIMES[model.format] !== undefined;
    const variants: WrittenVariants = { model, writer, out, dtype: o.dtype };
    // ONNX graphs are fine-tuned by running them in TF.js (finetuneOnnx.ts).
    if (o.finetune && !inTfjs && model.format !== 'onnx') throw new InputError(path, `--finetune is available for TF.js layers, Keras and ONNX models (this is ${model.format})`);
    // Only a --ratio budget is allocated across layers; other goals fix each layer's rank alone.
    const allocation = o.goal.kind === 'ratio' ? o.allocation ?? (o.method === 'whitened' && (inTfjs || (runsElsewhere && cheapToProbe(model))) ? 'sensitivity' : 'spectrum') : undefined;
    if (allocation === 'sensitivity' && !o.calibration) throw new InputError(path, 'sensitivity allocation needs --calibration inputs');
    if (allocation === 'sensitivity' && !inTfjs && !runsElsewhere) throw new InputError(path, `sensitivity allocation is available for TF.js, Keras and ONNX models (this is ${model.format})`);
    // Analysis takes the first 0.3 of the job's progress; measuring sensitivity, its last third.
    const analysing = stageOf(o, 0, allocation === 'sensitivity' ? 0.2 : 0.3, 'analysing: ');
    if (o.method === 'relayout' && model.format !== 'onnx') {
      throw new InputError(path, `--method relayout is written for ONNX models only (this is ${model.format}: its layers cannot re-lay a product out with standard operators)`);
    }
    if (inTfjs && o.calibration) tfModel = layersSource(model);
    const base = o.method === 'whitened' ? await whitenedStrategy(model, o.engine, o.calibration!, analysing, tfModel)
      : o.method === 'relayout' ? await relayoutStrategy(model, o.engine, analysing)
        : await plainStrategy(model, o.engine, analysing, o.analysis);
    const strategy = allocation === 'sensitivity'
      ? await withSensitivity(base, model, o.calibration!, stageOf(o, 0.2, 0.1, 'measuring sensitivity: '), inTfjs ? { tfjs: tfModel } : { written: variants }) : base;
    const sink = new AtomicOutput(model.files, o.force);
    try {
      // Finished factors wait in a scratch file, not in memory, while later layers are factorised.
      const factorAll = async (s: Strategy, plan: Plan, from: number, share: number): Promise<FactorSource> => {
        // Full rank of the layout the strategy factorises (a re-layout's is its auxiliary matrix's).
        const full = new Map(s.analysis.layers.map((l) => [l.name, Math.min(l.rows, l.cols)]));
        const todo = model.layers.filter((l) => (plan.get(l.name) ?? Infinity) < (full.get(l.name) ?? 0));
        const spill = new FactorSpill(await sink.scratch(out));
        let done = 0;
        const names = await mapInLanes(todo, async (layer) => {
          throwIfAborted(o.signal);
          await s.factor(layer, plan.get(layer.name)!, (f) => spill.put(f));
          o.progress?.report(from + share * (++done / todo.length), `factorised ${layer.name}`);
          return layer.name;
        }, lanesFor(todo));
        // Writers and the report list layers in the model's order.
        return spill.inOrder(names);
      };
      // The guard runs the candidates in TF.js, or else in the format's own runtime (guardRuntime.ts).
      const guarded = o.method === 'whitened' && (inTfjs || runsElsewhere);
      const topology = tfModel?.topology;
      const held = o.calibration && heldOut(o.calibration);
      const share = (o.finetune ? 0.6 : 0.69) / (guarded ? 2 : 1);
      let plan = await makePlan(strategy.analysis, o.goal);
      // Sensitivity allocation's plan is refined on calibration inputs (refineTfjs.ts), in the first half of its share.
      let refinement: Refinement | undefined;
      if (allocation === 'sensitivity' && inTfjs) {
        ({ plan, refinement } = await refinePlan(tfModel!, topology!, model.layers, strategy, plan, refinementInputs(o.calibration!, held!), stageOf(o, 0.3, share / 2, '')));
      }
      let factors = await factorAll(strategy, plan, refinement ? 0.3 + share / 2 : 0.3, refinement ? share / 2 : share);
      let methodChoice: MethodChoice | undefined;
      if (guarded && factors.shapes.size) {
        // The plain analysis takes the first half of the plain share, so progress never goes back.
        const plain = await plainStrategy(model, o.engine, stageOf(o, 0.3 + share, share / 2, 'analysing for plain SVD: '), o.analysis);
        const svd = await factorAll(plain, await makePlan(plain.analysis, o.goal), 0.3 + 1.5 * share, share / 2);
        methodChoice = inTfjs ? await chooseMethod(tfModel!, topology!, await loadAll(factors), await loadAll(svd), held!)
          : await chooseMethodByRunning(variants, { whitened: factors, svd }, held!);
        if (methodChoice?.kept === 'svd') factors = svd;
      }
      let finetune: FinetuneResult | undefined;
      const retrained = new Map<string, Float32Array>();
      if (o.finetune && factors.shapes.size) {
        // Fine-tuning trains every factor at once, so they all come back into memory.
        const trained = await loadAll(factors);
        // A Keras file's weights are HDF5 datasets, in the order TF.js holds them (keras/runtime.ts).
        const stored = keras ? weightsByLayer(model) : undefined;
        finetune = inTfjs ? await finetuneTfjs(tfModel!, rewriteTopology(topology!, trained, model.path), trained, o.calibration!, {
          steps: o.finetune, storedName: stored && ((layer, i) => stored.get(layer)![i]), ...stageOf(o, 0.9, 0.09),
        }, retrained) : await finetuneOnnx(model, trained, o.calibration!, { steps: o.finetune, ...stageOf(o, 0.9, 0.09) }, retrained);
        factors = factorsInMemory(trained);
      }
      await writer.write(model, factors, out, sink, { dtype: o.dtype, retrained });
      throwIfAborted(o.signal);
      const predicted = predictBytes(model, factors.shapes, o.dtype);
      const written = [...sink.sizes().values()].reduce((a, b) => a + b, 0);
      const report: CompressReport = {
        originalParams: model.totalParams,
        compressedParams: predicted.params,
        originalBytes: model.fileBytes,
        compressedBytes: written,
        predictedBytes: predicted.bytes,
        layers: [...factors.shapes.values()].map((f) => ({
          name: f.layer.name, rank: f.rank, dtype: storageName(f.layer.dtype, o.dtype), relativeError: f.relativeError, ...(f.layout ? { layout: f.layout } : {}),
        })),
        source: model.path, output: out, files: [...sink.sizes().keys()], format: model.format, engine: o.engine.description,
        method: o.method ?? 'svd', allocation: methodChoice?.kept === 'svd' && allocation ? 'spectrum' : allocation, methodChoice, finetune,
        ...(refinement && methodChoice?.kept !== 'svd' ? { refinement } : {}),
      };
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
    await tfModel?.dispose();
    await model.close();
  }
}
