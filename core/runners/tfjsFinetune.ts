// Label-free fine-tuning of a factorised TF.js layers model (distil.ts trains it): every
// weight that stays in the model (the factors, and the biases and layers left dense, e.g. a
// classifier head) is trained to reproduce the original model's outputs.
import type { Tensor } from '../eval/tensor.js';
import { tfjs } from '../formats/tfjs/runtime.js';
import { distil, runRows, splitInputs, tensorFidelity, toHost, type FinetuneOptions, type FinetuneResult } from '../compress/distil.js';
import type { Fidelity } from '../compress/fidelity.js';
import type { LayersSource } from './layersSource.js';
import type { Factorisation } from '../compress/types.js';

type Tf = Awaited<ReturnType<typeof tfjs>>;
type TfTensor = import('@tensorflow/tfjs').Tensor;
type LayersModel = import('@tensorflow/tfjs').LayersModel;

/**
 * The topology with the named layer's softmax replaced by a linear activation (its logits).
 * Throws when there is no such layer: training on probabilities taken for logits fails quietly.
 */
function withLogitOutput(topology: object, name: string): object {
  let found = false;
  const visit = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(visit);
    if (!v || typeof v !== 'object') return v;
    const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x)])) as { config?: { name?: string; activation?: string } };
    if (o.config?.name === name && o.config.activation === 'softmax') { o.config = { ...o.config, activation: 'linear' }; found = true; }
    return o;
  };
  const out = visit(topology) as object;
  if (!found) throw new Error(`no softmax layer ${name} in the topology`);
  return out;
}

async function build(tf: Tf, topology: object): Promise<LayersModel> {
  return tf.models.modelFromJSON({ modelTopology: topology } as unknown as import('@tensorflow/tfjs').io.ModelJSON);
}

/** The original model, and the same in logit form (softmax removed) for a softmax classifier. */
export interface Teacher {
  teacher: LayersModel; teacherLogits: LayersModel;
  softmax: boolean;
  dispose(): void;
}

export async function loadTeacher(source: LayersSource): Promise<Teacher> {
  const tf = await tfjs();
  const { model: teacher, topology } = await source.load();
  const outName = teacher.layers[teacher.layers.length - 1].name;
  const softmax = teacher.getLayer(outName).getConfig().activation === 'softmax';
  const teacherLogits = softmax ? await build(tf, withLogitOutput(topology, outName)) : teacher;
  if (teacherLogits !== teacher) for (const l of teacherLogits.layers) if (l.weights.length) l.setWeights(teacher.getLayer(l.name).getWeights());
  return { teacher, teacherLogits, softmax, dispose: () => { for (const m of new Set([teacher, teacherLogits])) m.dispose(); } };
}

/**
 * The factorised model as it would be written (in logit form for a softmax classifier):
 * factor layers from `factors`, every other layer with the teacher's weights.
 */
export async function studentOf(t: Teacher, topology: object, factors: Map<string, Factorisation>): Promise<LayersModel> {
  const tf = await tfjs();
  // A factorised output layer keeps its activation in its second factor, `<name>_v`.
  const outName = t.teacher.layers[t.teacher.layers.length - 1].name;
  const studentOut = factors.has(outName) ? `${outName}_v` : outName;
  const student = await build(tf, t.softmax ? withLogitOutput(topology, studentOut) : topology);
  for (const layer of student.layers) {
    const m = /^(.*)_(u|v)$/.exec(layer.name);
    const f = m ? factors.get(m[1]) : undefined;
    if (!f) { if (layer.weights.length) layer.setWeights(t.teacher.getLayer(layer.name).getWeights()); continue; }
    const shape = layer.weights[0].shape as number[];
    if (m![2] === 'u') layer.setWeights([tf.tensor(f.a, shape)]);
    else layer.setWeights([tf.tensor(f.b, shape), ...(f.bias ? [tf.tensor(f.bias)] : t.teacher.getLayer(m![1]).getWeights().slice(1))]);
  }
  return student;
}

/** The student's fidelity to the teacher's outputs `target` on inputs `x` (probabilities for a softmax classifier). */
export function scoreStudent(tf: Tf, t: Teacher, student: LayersModel, x: TfTensor, target: TfTensor): Fidelity {
  const s = student.predict(x, { batchSize: 1024 }) as TfTensor;
  const p = t.softmax ? tf.softmax(s) : s;
  const f = tensorFidelity(tf, target, p);
  tf.dispose([s, p]);
  return f;
}

/**
 * Trains the factorised model's weights and reports fidelity on a held-out 10 %. Where that
 * fidelity got better (fidelity.ts's rule), the trained factors replace `factors`' (a, b and the second
 * layer's bias) in place and the trained weights of layers left dense go into `retrained`
 * under their stored tensor names (`storedName`; absent: TF.js's own, as a model.json manifest
 * lists them); otherwise both are left as they were.
 */
export async function tfjsFinetune(
  source: LayersSource, topology: object, factors: Map<string, Factorisation>, x: Tensor,
  o: FinetuneOptions & { storedName?: (layer: string, index: number) => string }, retrained = new Map<string, Float32Array>(),
): Promise<FinetuneResult> {
  const tf = await tfjs();
  // Training runs on logits (softmax removed); fidelity compares the outputs as written.
  const t = await loadTeacher(source);
  const { teacher, teacherLogits, softmax } = t;
  const student = await studentOf(t, topology, factors);
  const disposables: TfTensor[] = [];
  try {
    // A backend without a convolution filter gradient keeps convolutions as they are and trains
    // the Dense layers (usually most of the parameters); tfjs-backend-wasm gets ours (convGradKernels.ts).
    const convTrainable = tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
    const frozen: string[] = [];
    for (const layer of student.layers) {
      if (!layer.weights.length || convTrainable || layer.getClassName() === 'Dense') continue;
      layer.trainable = false;
      if (/_(u|v)$/.test(layer.name)) frozen.push(layer.name);
    }
    const { xTrain, xHeld } = splitInputs(tf, x);
    const batchSize = runRows(xTrain.size / Math.max(1, xTrain.shape[0]));
    const yTrain = toHost(teacherLogits.predict(xTrain, { batchSize }) as TfTensor);
    const yHeld = teacher.predict(xHeld, { batchSize }) as TfTensor;
    disposables.push(xTrain, xHeld, yHeld);
    const result = await distil(tf, {
      variables: student.trainableWeights.map((w) => w.read() as import('@tensorflow/tfjs').Variable),
      logits: (xb) => student.apply(xb) as TfTensor,
      predict: (xs) => { const s = student.predict(xs, { batchSize }) as TfTensor; return softmax ? tf.softmax(s) : s; },
    }, { xTrain, yTrain, xHeld, yHeld, softmax }, o);
    const out = { ...result, ...(frozen.length ? { frozen } : {}) };
    if (result.discarded) return out;
    for (const layer of student.layers) {
      const m = /^(.*)_(u|v)$/.exec(layer.name);
      const f = m ? factors.get(m[1]) : undefined;
      if (!f) {
        for (const w of layer.trainableWeights) {
          retrained.set(o.storedName?.(layer.name, layer.weights.indexOf(w)) ?? w.originalName, w.read().dataSync() as Float32Array);
        }
        continue;
      }
      const [kernel, bias] = layer.getWeights();
      if (m![2] === 'u') f.a = kernel.dataSync() as Float32Array;
      else { f.b = kernel.dataSync() as Float32Array; if (bias) f.bias = bias.dataSync() as Float32Array; }
    }
    return out;
  } finally {
    tf.dispose(disposables);
    student.dispose();
    t.dispose();
  }
}
