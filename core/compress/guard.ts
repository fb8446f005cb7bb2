// Whitening minimises each layer's own output error on the calibration inputs; that usually,
// not always, lowers the model's output error (ReLUs, later layers and the softmax weigh the
// layers' errors differently, and the allocation moves parameters between layers). So
// `--method whitened` also factorises with plain SVD at the same goal, runs both on the
// held-out calibration inputs through the format's runner, and keeps whichever agrees better
// with the original model (fidelity.ts's rule, which fine-tuning's choices use too): whitened is
// then never worse than plain on held-out data.
import type { Tensor } from '../eval/tensor.js';
import type { ModelRunner } from '../runners/runner.js';
import { better, type Fidelity } from './fidelity.js';
import type { FactorSource, Method } from './types.js';

export interface MethodChoice { kept: Method; whitened: Fidelity; svd: Fidelity }

/** Which of the two factorisations to keep, judged on the held-out inputs `x`; undefined (whitened kept unjudged) where the runner cannot run `x`. */
export function chooseMethod(runner: ModelRunner, candidates: { whitened: FactorSource; svd: FactorSource }, x: Tensor): Promise<MethodChoice | undefined> {
  return runner.judge(x, async (judge) => {
    const whitened = await judge.score(candidates.whitened);
    const svd = await judge.score(candidates.svd);
    return { kept: better(svd, whitened, judge.classifier) ? 'svd' : 'whitened', whitened, svd };
  });
}
