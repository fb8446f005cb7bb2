// Whitening minimises each layer's own output error on the calibration inputs; that usually,
// not always, lowers the model's output error (ReLUs, later layers and the softmax weigh the
// layers' errors differently, and the allocation moves parameters between layers). So
// `--method whitened` on a TF.js layers model also factorises with plain SVD at the same goal,
// runs both on the held-out calibration inputs, and keeps whichever agrees better with the
// original model (fidelity.ts's rule, which fine-tuning's choices use too): whitened is then
// never worse than plain on held-out data.
import type { Tensor } from '../eval/tensor.js';
import { tfjs } from '../eval/tfjsRuntime.js';
import { rewriteTopology } from '../formats/tfjsWriter.js';
import { better, type Fidelity } from './fidelity.js';
import { loadTeacher, scoreStudent, studentOf } from './finetuneTfjs.js';
import type { Factorisation, Method } from './types.js';

type TfTensor = import('@tensorflow/tfjs').Tensor;

export interface MethodChoice { kept: Method; whitened: Fidelity; svd: Fidelity }

/** Which of the two factorisations to keep, judged on the held-out inputs `x`. */
export async function chooseMethod(modelPath: string, modelTopology: Record<string, unknown>, whitened: Map<string, Factorisation>, svd: Map<string, Factorisation>, x: Tensor): Promise<MethodChoice> {
  const tf = await tfjs();
  const t = await loadTeacher(modelPath);
  const xs = tf.tensor(x.data, x.shape);
  const target = t.teacher.predict(xs, { batchSize: 1024 }) as TfTensor;
  const score = async (factors: Map<string, Factorisation>): Promise<Fidelity> => {
    const student = await studentOf(t, rewriteTopology(modelTopology, factors, modelPath), factors);
    try {
      return scoreStudent(tf, t, student, xs, target);
    } finally {
      student.dispose();
    }
  };
  try {
    const w = await score(whitened);
    const p = await score(svd);
    return { kept: better(p, w, t.softmax) ? 'svd' : 'whitened', whitened: w, svd: p };
  } finally {
    tf.dispose([xs, target]);
    t.dispose();
  }
}
