// The runner for formats run in their own stock runtime rather than rebuilt in TF.js (ONNX in
// onnxruntime, TF.js graph models in tfjs): each candidate is written as the job would write
// it, into a private folder beside the output that goes away whatever happens, and run there.
// Writing costs each candidate one more pass over the model's bytes: the price of judging
// exactly what would be written. Input statistics and fine-tuning come from the format.
import { mkdtemp, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { outputFidelity } from '../compress/fidelity.js';
import type { FinetuneOptions, FinetuneResult } from '../compress/distil.js';
import type { InputMoments } from '../compress/moments.js';
import type { FactorSource, Factorisation } from '../compress/types.js';
import { firstRows, type Tensor } from '../eval/tensor.js';
import type { FormatModule } from '../formats/format.js';
import type { StoredModel } from '../formats/storedModel.js';
import { AtomicOutput } from '../io/atomicOutput.js';
import type { JobOptions } from '../types.js';
import type { ModelRunner, RunnerSite } from './runner.js';
import { writtenSensitivity } from './writtenSensitivity.js';

/** What the format adds to running written variants: the steps that run the model some other way. */
export interface WrittenSteps<M> {
  inputMoments(model: M, x: Tensor, opts: JobOptions): Promise<Map<string, InputMoments>>;
  finetune?(model: M, factors: Map<string, Factorisation>, x: Tensor, o: FinetuneOptions, retrained: Map<string, Float32Array>): Promise<FinetuneResult>;
}

/** The original's outputs, and a variant's, on the inputs every run gets. */
export interface VariantRunner {
  original: Tensor;
  run(factors: FactorSource): Promise<Tensor>;
}

type Written<M extends StoredModel<unknown>> = Required<Pick<FormatModule<M>, 'write' | 'runtime'>>;

/**
 * Runs get `x` cut to whole batches of a model exported with a fixed batch size; undefined
 * where it does not fill one.
 */
export async function withVariants<M extends StoredModel<unknown>, T>(model: M, format: Written<M>, site: RunnerSite, x: Tensor, fn: (runner: VariantRunner) => Promise<T>): Promise<T | undefined> {
  const fixed = (await format.runtime.inputShape(model.path))[0] ?? 0;
  const n = fixed > 0 ? x.shape[0] - (x.shape[0] % fixed) : x.shape[0];
  if (n === 0) return undefined;
  const xs = firstRows(x, n);
  const { out } = site;
  const dir = await mkdtemp(join(dirname(out), `.${basename(out)}.variants-`));
  let count = 0;
  try {
    const original = await format.runtime.run(model.path, xs);
    return await fn({
      original,
      run: async (factors) => {
        const path = join(dir, `${count++}${out.slice(out.lastIndexOf('.'))}`);
        const sink = new AtomicOutput(model.files);
        await format.write(model, factors, path, sink, { dtype: site.dtype });
        await sink.commit();
        return format.runtime.run(path, xs);
      },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function writtenRunner<M extends StoredModel<unknown>>(model: M, format: Written<M>, site: RunnerSite, steps: WrittenSteps<M>): ModelRunner {
  const variants = <T>(x: Tensor, fn: (runner: VariantRunner) => Promise<T>): Promise<T | undefined> => withVariants(model, format, site, x, fn);
  const { finetune } = steps;
  return {
    inputMoments: (x, opts) => steps.inputMoments(model, x, opts),
    judge: (x, fn) => variants(x, ({ original, run }) => fn({
      // Top-1 agreement means something only where each input gets a row of scores.
      classifier: original.shape.length === 2 && (original.shape[1] ?? 0) > 1,
      score: async (factors) => outputFidelity(original, await run(factors)),
    })),
    sensitivity: (probes, x, opts) => writtenSensitivity(variants, probes, x, opts),
    ...(finetune ? { finetune: (factors, x, o, retrained) => finetune(model, factors, x, o, retrained) } : {}),
    dispose: async () => undefined,
  };
}
