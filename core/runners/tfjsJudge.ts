// Scores factorisations of a TF.js layers model against the original on fixed inputs: the
// original is loaded and run once, each candidate is built as it would be written and run.
import type { Tensor } from '../eval/tensor.js';
import { tfjs } from '../formats/tfjs/runtime.js';
import { rewriteTopology } from '../formats/tfjs/layersWriter.js';
import type { Fidelity } from '../compress/fidelity.js';
import { loadTeacher, scoreStudent, studentOf } from './tfjsFinetune.js';
import type { LayersSource } from './layersSource.js';
import type { Factorisation } from '../compress/types.js';

type TfTensor = import('@tensorflow/tfjs').Tensor;

export interface Judge {
  score(factors: Map<string, Factorisation>): Promise<Fidelity>;
  /** The model is a softmax classifier (fidelity.ts's rule then weighs top-1 agreement first). */
  classifier: boolean;
}

export async function withJudge<T>(source: LayersSource, modelTopology: Record<string, unknown>, x: Tensor, fn: (judge: Judge) => Promise<T>): Promise<T> {
  const tf = await tfjs();
  const t = await loadTeacher(source);
  const xs = tf.tensor(x.data, x.shape);
  const target = t.teacher.predict(xs, { batchSize: 1024 }) as TfTensor;
  const score = async (factors: Map<string, Factorisation>): Promise<Fidelity> => {
    const student = await studentOf(t, rewriteTopology(modelTopology, factors, source.path), factors);
    try {
      return scoreStudent(tf, t, student, xs, target);
    } finally {
      student.dispose();
    }
  };
  try {
    return await fn({ score, classifier: t.softmax });
  } finally {
    tf.dispose([xs, target]);
    t.dispose();
  }
}
