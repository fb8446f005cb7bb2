// Whitening minimises each layer's own output error on the calibration inputs; that usually,
// not always, lowers the model's output error (ReLUs, later layers and the softmax weigh the
// layers' errors differently, and the allocation moves parameters between layers). So
// `--method whitened` on a TF.js layers model also factorises with plain SVD at the same goal,
// runs both on the held-out calibration inputs, and keeps whichever agrees better with the
// original model: whitened is then never worse than plain on held-out data.
import type { Tensor } from '../eval/tensor.js';
import { tfjs } from '../eval/tfjsRuntime.js';
import { rewriteTopology } from '../formats/tfjsWriter.js';
import { factorisedTfjs, fidelity, type Fidelity } from './finetuneTfjs.js';
import type { Factorisation, Method } from './types.js';

type TfTensor = import('@tensorflow/tfjs').Tensor;

export interface MethodChoice { kept: Method; whitened: Fidelity; svd: Fidelity }

/** For a classifier, top-1 agreement decides (ties: output error); otherwise output error. */
function better(a: Fidelity, b: Fidelity, classifier: boolean): boolean {
  if (classifier && a.top1Agreement !== b.top1Agreement) return a.top1Agreement > b.top1Agreement;
  return a.relativeOutputError < b.relativeOutputError;
}

async function heldOutFidelity(modelPath: string, modelTopology: Record<string, unknown>, factors: Map<string, Factorisation>, x: Tensor): Promise<{ f: Fidelity; softmax: boolean }> {
  const tf = await tfjs();
  const { teacher, student, softmax, dispose } = await factorisedTfjs(modelPath, rewriteTopology(modelTopology, factors, modelPath), factors);
  try {
    const xs = tf.tensor(x.data, x.shape);
    const s = student.predict(xs, { batchSize: 1024 }) as TfTensor;
    const outputs = [xs, s, softmax ? tf.softmax(s) : s, teacher.predict(xs, { batchSize: 1024 }) as TfTensor];
    const f = fidelity(tf, outputs[3], outputs[2]);
    tf.dispose(outputs);
    return { f, softmax };
  } finally {
    dispose();
  }
}

/** Which of the two factorisations to keep, judged on the held-out inputs `x`. */
export async function chooseMethod(modelPath: string, modelTopology: Record<string, unknown>, whitened: Map<string, Factorisation>, svd: Map<string, Factorisation>, x: Tensor): Promise<MethodChoice> {
  const w = await heldOutFidelity(modelPath, modelTopology, whitened, x);
  const p = await heldOutFidelity(modelPath, modelTopology, svd, x);
  return { kept: better(p.f, w.f, w.softmax) ? 'svd' : 'whitened', whitened: w.f, svd: p.f };
}
