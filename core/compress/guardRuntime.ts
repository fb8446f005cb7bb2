// The whitened/plain guard (guardTfjs.ts) for formats run in their own stock runtime rather
// than rebuilt in TF.js: ONNX in onnxruntime, TF.js graph models in tfjs. Each candidate is
// written as the job would write it, into a private folder beside the output, run with the
// original on the held-out calibration inputs, and judged by fidelity.ts's rule; the folder
// goes away whatever happens. Writing costs each candidate one more pass over the model's
// bytes: the price of never writing whitened factors that agree worse than plain ones.
import { mkdtemp, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RUNTIMES, runModel } from '../eval/evaluate.js';
import type { Tensor } from '../eval/tensor.js';
import type { StoredModel } from '../formats/storedModel.js';
import type { WriterEntry } from '../formats/writers.js';
import { AtomicOutput } from '../io/atomicOutput.js';
import { better, outputFidelity, type Fidelity } from './fidelity.js';
import type { MethodChoice } from './guardTfjs.js';
import type { FactorSource, StorageDType } from './types.js';

/**
 * Undefined (whitened kept unjudged) where the held-out inputs do not fill one batch of a model
 * exported with a fixed batch size; otherwise they are cut to whole batches.
 */
export async function chooseMethodByRunning(model: StoredModel, writer: WriterEntry, out: string, candidates: { whitened: FactorSource; svd: FactorSource }, held: Tensor, dtype?: StorageDType): Promise<MethodChoice | undefined> {
  const fixed = (await RUNTIMES[model.format]!.inputShape(model.path))[0] ?? 0;
  const n = fixed > 0 ? held.shape[0] - (held.shape[0] % fixed) : held.shape[0];
  if (n === 0) return undefined;
  const x: Tensor = { data: held.data.subarray(0, n * (held.data.length / held.shape[0])), shape: [n, ...held.shape.slice(1)] };
  const dir = await mkdtemp(join(dirname(out), `.${basename(out)}.guard-`));
  try {
    const original = await runModel(model.path, model.format, x);
    const score = async (name: string, factors: FactorSource): Promise<Fidelity> => {
      const path = join(dir, `${name}${out.slice(out.lastIndexOf('.'))}`);
      const sink = new AtomicOutput(model.files);
      await writer.write(model, factors, path, sink, { dtype });
      await sink.commit();
      return outputFidelity(original, await runModel(path, model.format, x));
    };
    const whitened = await score('whitened', candidates.whitened), svd = await score('svd', candidates.svd);
    // Top-1 agreement means something only where each input gets a row of scores.
    const classifier = original.shape.length === 2 && (original.shape[1] ?? 0) > 1;
    return { kept: better(svd, whitened, classifier) ? 'svd' : 'whitened', whitened, svd };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
