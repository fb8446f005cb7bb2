// Whitening minimises each layer's own output error on the calibration inputs; that usually,
// not always, lowers the model's output error (ReLUs, later layers and the softmax weigh the
// layers' errors differently, and the allocation moves parameters between layers). So
// `--method whitened` on a model run in TF.js (TF.js layers, Keras) also factorises with plain SVD at the same goal,
// runs both on the held-out calibration inputs, and keeps whichever agrees better with the
// original model (fidelity.ts's rule, which fine-tuning's choices use too): whitened is then
// never worse than plain on held-out data.
import type { Tensor } from '../eval/tensor.js';
import { better, type Fidelity } from './fidelity.js';
import { withJudge } from './judgeTfjs.js';
import type { LayersSource } from './layersModel.js';
import type { Factorisation, Method } from './types.js';

export interface MethodChoice { kept: Method; whitened: Fidelity; svd: Fidelity }

/** Which of the two factorisations to keep, judged on the held-out inputs `x`. */
export async function chooseMethod(source: LayersSource, modelTopology: Record<string, unknown>, whitened: Map<string, Factorisation>, svd: Map<string, Factorisation>, x: Tensor): Promise<MethodChoice> {
  return withJudge(source, modelTopology, x, async (judge) => {
    const w = await judge.score(whitened);
    const p = await judge.score(svd);
    return { kept: better(p, w, judge.classifier) ? 'svd' : 'whitened', whitened: w, svd: p };
  });
}
