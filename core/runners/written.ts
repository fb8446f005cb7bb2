// The runner for formats run in their own stock runtime rather than rebuilt in TF.js (ONNX in
// onnxruntime, TF.js graph models in tfjs): each candidate is written as the job would write
// it — in memory where the runtime loads bytes, else into a private folder beside the output
// that goes away whatever happens — and run there. Writing costs each candidate one more pass
// over the model's bytes: the price of judging exactly what would be written. The original is
// loaded once per job. Input statistics and fine-tuning come from the format.
import { basename, dirname, join } from 'node:path';
import { classScores, FidelitySum } from '../compress/fidelity.js';
import type { FinetuneOptions, FinetuneResult } from '../compress/distil.js';
import type { InputMoments } from '../compress/moments.js';
import type { FactorSource, Factorisation } from '../compress/types.js';
import { firstRows, forEachChunk, mapChunks, type Tensor } from '../eval/tensor.js';
import type { FormatModule, LoadedModel } from '../formats/format.js';
import type { StoredModel } from '../formats/storedModel.js';
import { AtomicOutput } from '../io/atomicOutput.js';
import { MemoryOutput } from '../io/memoryOutput.js';
import type { JobOptions } from '../types.js';
import type { ModelRunner, RunnerSite } from './runner.js';
import { writtenSensitivity } from './writtenSensitivity.js';
import { makeTemporaryFolder, removeTemporaryFolder } from '../io/temporaries.js';

/** What the format adds to running written variants: the steps that run the model some other way. */
export interface WrittenSteps<M> {
  inputMoments(model: M, x: Tensor, opts: JobOptions): Promise<Map<string, InputMoments>>;
  finetune?(model: M, factors: Map<string, Factorisation>, x: Tensor, o: FinetuneOptions, retrained: Map<string, Float32Array>): Promise<FinetuneResult>;
  checkFinetune?(model: M): Promise<void>;
  /** Ends what the steps started (a process they train in). */
  dispose?(): void;
}

/**
 * The original's outputs on the inputs every run gets (every output the runtime gives,
 * LoadedModel.run), and a variant's summed against them piece by piece (FidelitySum).
 */
export interface VariantRunner {
  original: Tensor[];
  compare(factors: FactorSource): Promise<FidelitySum>;
}

type Written<M extends StoredModel<unknown>> = Required<Pick<FormatModule<M>, 'write' | 'runtime'>>;

/** Variants of models up to this size are written in memory and loaded from bytes where the runtime can; larger ones go to disk. */
const IN_MEMORY_BYTES = 256 * 2 ** 20;

/**
 * Input values one run of the model is fed at most (2 MiB of f32). The steps that run variants
 * judge on tens of inputs at once, and a runtime given them in one batch holds every input's
 * activations together, far past the processor's caches: PaddleOCR's recogniser (48×320 text
 * lines, 46 080 values) took 86 ms an input in batches of 85 and 40 in batches of 32 on
 * onnxruntime's one thread, 15–20 in batches of 1–6, with the same outputs; its arena kept the
 * largest batch's activations too. On two threads its 34 lines took 11.4 ms a line in batches of
 * 5, 10.8 in batches of 11 to 17 and 11.2 in one. Inputs of a few hundred values (an MNIST
 * image) still go hundreds at a time.
 */
export const RUN_VALUES = 2 ** 19;

/** Inputs one run is fed: at most RUN_VALUES input values, whole batches of a fixed-batch model, at least one. */
function pieceRows(x: Tensor, fixed: number): number {
  const per = x.data.length / Math.max(1, x.shape[0]), unit = Math.max(1, fixed);
  return unit * Math.max(1, Math.floor(RUN_VALUES / (per * unit)));
}

/** Writes and runs variants of `model`; the original is loaded once, on first use, and kept until dispose. */
class Variants<M extends StoredModel<unknown>> {
  private original?: Promise<LoadedModel>;
  private dir?: Promise<string>;
  private count = 0;

  constructor(private readonly model: M, private readonly format: Written<M>, private readonly site: RunnerSite) {}

  /**
   * Runs get `x` cut to whole batches of a model exported with a fixed batch size; undefined
   * where it does not fill one.
   */
  async with<T>(x: Tensor, fn: (runner: VariantRunner) => Promise<T>): Promise<T | undefined> {
    this.original ??= this.format.runtime.load(this.model.path);
    const original = await this.original;
    const fixed = original.inputShape[0] ?? 0;
    const n = fixed > 0 ? x.shape[0] - (x.shape[0] % fixed) : x.shape[0];
    if (n === 0) return undefined;
    const xs = firstRows(x, n);
    const originalOutputs = await mapChunks(xs, pieceRows(xs, fixed), (piece) => original.run(piece));
    return fn({ original: originalOutputs, compare: (factors) => this.run(factors, xs, fixed, new FidelitySum(originalOutputs)) });
  }

  /** The variant's outputs on `x`, added to `sum` piece by piece as they come (no piece is kept). */
  private async run(factors: FactorSource, x: Tensor, fixed: number, sum: FidelitySum): Promise<FidelitySum> {
    const { model, format, site } = this;
    const path = join(await this.folder(), `${this.count++}${site.out.slice(site.out.lastIndexOf('.'))}`);
    const memory = format.runtime.inMemory && model.fileBytes <= IN_MEMORY_BYTES ? new MemoryOutput() : undefined;
    let loaded: LoadedModel;
    if (memory) {
      await format.write(model, factors, path, memory, { dtype: site.dtype });
      // Runtimes that load bytes take one file: their writers inline everything (ONNX external data).
      if (memory.paths.length !== 1) throw new Error(`${model.path}: a variant written in memory came out as ${memory.paths.length} files`);
      loaded = await format.runtime.load(path, memory.bytes(path));
    } else {
      const sink = new AtomicOutput(model.files);
      await format.write(model, factors, path, sink, { dtype: site.dtype });
      await sink.commit();
      loaded = await format.runtime.load(path);
    }
    try {
      await forEachChunk(x, pieceRows(x, fixed), async (piece) => { sum.add(await loaded.run(piece)); });
      return sum;
    } finally {
      await loaded.dispose();
    }
  }

  /** A private folder beside the output for variants on disk, made on first use. */
  private folder(): Promise<string> {
    const { out } = this.site;
    this.dir ??= makeTemporaryFolder(join(dirname(out), `.${basename(out)}.variants-`));
    return this.dir;
  }

  async dispose(): Promise<void> {
    const original = this.original;
    this.original = undefined;
    await (await original?.catch(() => undefined))?.dispose();
    const dir = await this.dir?.catch(() => undefined);
    if (dir) await removeTemporaryFolder(dir);
  }
}

export function writtenRunner<M extends StoredModel<unknown>>(model: M, format: Written<M>, site: RunnerSite, steps: WrittenSteps<M>): ModelRunner {
  const written = new Variants(model, format, site);
  const variants = <T>(x: Tensor, fn: (runner: VariantRunner) => Promise<T>): Promise<T | undefined> => written.with(x, fn);
  const { finetune, checkFinetune } = steps;
  return {
    inputMoments: (x, opts) => steps.inputMoments(model, x, opts),
    judge: (x, fn) => variants(x, ({ original, compare }) => fn({
      classifier: classScores(original),
      score: async (factors) => (await compare(factors)).fidelity(),
    })),
    sensitivity: (probes, x, opts) => writtenSensitivity(variants, probes, x, opts),
    ...(finetune ? { finetune: (factors, x, o, retrained) => finetune(model, factors, x, o, retrained) } : {}),
    ...(checkFinetune ? { ready: async ({ finetune: planned }) => { if (planned) await checkFinetune(model); } } : {}),
    dispose: async () => {
      steps.dispose?.();
      await written.dispose();
    },
  };
}
