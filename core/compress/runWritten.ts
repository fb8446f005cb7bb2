// Runs factorised variants of a model in the format's own stock runtime (ONNX in onnxruntime,
// TF.js graph models in tfjs): each variant is written as the job would write it, into a
// private folder beside the output that goes away whatever happens. The formats that are
// rebuilt in TF.js (layersModel.ts) judge their variants in memory instead.
import { mkdtemp, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RUNTIMES, runModel } from '../eval/evaluate.js';
import { firstRows, type Tensor } from '../eval/tensor.js';
import type { StoredModel } from '../formats/storedModel.js';
import type { WriterEntry } from '../formats/writers.js';
import { AtomicOutput } from '../io/atomicOutput.js';
import type { FactorSource, StorageDType } from './types.js';

/** Where the job writes, and how: what a variant is written with. */
export interface WrittenVariants { model: StoredModel; writer: WriterEntry; out: string; dtype?: StorageDType }

/** The original's outputs, and a variant's, on the inputs every run gets. */
export interface VariantRunner {
  original: Tensor;
  run(factors: FactorSource): Promise<Tensor>;
}

/**
 * Runs get `x` cut to whole batches of a model exported with a fixed batch size; undefined
 * where it does not fill one.
 */
export async function withVariants<T>(v: WrittenVariants, x: Tensor, fn: (runner: VariantRunner) => Promise<T>): Promise<T | undefined> {
  const { model, writer, out } = v;
  const fixed = (await RUNTIMES[model.format]!.inputShape(model.path))[0] ?? 0;
  const n = fixed > 0 ? x.shape[0] - (x.shape[0] % fixed) : x.shape[0];
  if (n === 0) return undefined;
  const xs = firstRows(x, n);
  const dir = await mkdtemp(join(dirname(out), `.${basename(out)}.variants-`));
  let count = 0;
  try {
    const original = await runModel(model.path, model.format, xs);
    return await fn({
      original,
      run: async (factors) => {
        const path = join(dir, `${count++}${out.slice(out.lastIndexOf('.'))}`);
        const sink = new AtomicOutput(model.files);
        await writer.write(model, factors, path, sink, { dtype: v.dtype });
        await sink.commit();
        return runModel(path, model.format, xs);
      },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
