// The whitened/plain guard (guardTfjs.ts) for formats run in their own stock runtime rather
// than rebuilt in TF.js: ONNX in onnxruntime, TF.js graph models in tfjs. Both candidates are
// written and run with the original on the held-out calibration inputs (runWritten.ts) and
// judged by fidelity.ts's rule. Writing costs each candidate one more pass over the model's
// bytes: the price of never writing whitened factors that agree worse than plain ones.
import type { Tensor } from '../eval/tensor.js';
import { better, outputFidelity } from './fidelity.js';
import type { MethodChoice } from './guardTfjs.js';
import { withVariants, type WrittenVariants } from './runWritten.js';
import type { FactorSource } from './types.js';

/** Undefined (whitened kept unjudged) where the held-out inputs do not fill one batch of a model exported with a fixed batch size. */
export function chooseMethodByRunning(v: WrittenVariants, candidates: { whitened: FactorSource; svd: FactorSource }, held: Tensor): Promise<MethodChoice | undefined> {
  return withVariants(v, held, async ({ original, run }) => {
    const whitened = outputFidelity(original, await run(candidates.whitened));
    const svd = outputFidelity(original, await run(candidates.svd));
    // Top-1 agreement means something only where each input gets a row of scores.
    const classifier = original.shape.length === 2 && (original.shape[1] ?? 0) > 1;
    return { kept: better(svd, whitened, classifier) ? 'svd' : 'whitened', whitened, svd };
  });
}
