// Label-free fine-tuning of a factorised TF.js layers model: the factor layers are trained to
// reproduce the original model's outputs (distillation) on calibration inputs; every other
// layer stays frozen. For a softmax classifier the loss is the temperature-softened KL
// divergence between teacher and student logits (Hinton et al.), which passes on the
// teacher's "dark knowledge" about near-miss classes that argmax agreement throws away;
// other outputs are matched by mean squared error. Adam with a cosine-decayed learning rate;
// seeded minibatch sampling, so runs are reproducible.
import type { Tensor } from '../eval/tensor.js';
import { tfjs, tfjsFiles } from '../eval/tfjsRuntime.js';
import { throwIfAborted, type JobOptions } from '../types.js';
import type { Factorisation } from './types.js';

type Tf = Awaited<ReturnType<typeof tfjs>>;
type TfTensor = import('@tensorflow/tfjs').Tensor;
type LayersModel = import('@tensorflow/tfjs').LayersModel;

export interface Fidelity { top1Agreement: number; relativeOutputError: number; samples: number }
export interface FinetuneResult {
  steps: number; before: Fidelity; after: Fidelity;
  /** Factor layers kept as factorised but not trained: the backend has no gradient kernel for them. */
  frozen?: string[];
  /**
   * Held-out fidelity of the trained factors when training did not lower the held-out output
   * error; those factors are then discarded, the untrained ones written and `after` equals `before`.
   */
  discarded?: Fidelity;
}

export interface FinetuneOptions extends JobOptions {
  steps: number;
  batchSize?: number;
  /** Peak learning rate; it decays to zero along a half cosine over the steps. */
  learningRate?: number;
  /** Softmax temperature of the distillation loss (softmax classifiers only). */
  temperature?: number;
  seed?: number;
}

const FINETUNE_DEFAULTS = { batchSize: 256, learningRate: 2e-3, temperature: 2, seed: 1 } as const;

/** Held-out share of the calibration inputs that decides whether trained factors are kept. */
const HELD_OUT = 0.1;

function fidelity(tf: Tf, teacher: TfTensor, student: TfTensor): Fidelity {
  return tf.tidy(() => {
    const agree = tf.equal(teacher.argMax(-1), student.argMax(-1)).sum().dataSync()[0];
    const err = tf.norm(tf.sub(teacher, student)).dataSync()[0] / tf.norm(teacher).dataSync()[0];
    return { top1Agreement: agree / teacher.shape[0], relativeOutputError: err, samples: teacher.shape[0] };
  });
}

/** The topology with the named layer's softmax replaced by a linear activation (its logits). */
function withLogitOutput(topology: object, name: string): object {
  const visit = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(visit);
    if (!v || typeof v !== 'object') return v;
    const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x)])) as { config?: { name?: string; activation?: string } };
    if (o.config?.name === name && o.config.activation === 'softmax') o.config = { ...o.config, activation: 'linear' };
    return o;
  };
  return visit(topology) as object;
}

async function build(tf: Tf, topology: object): Promise<LayersModel> {
  return tf.models.modelFromJSON({ modelTopology: topology } as unknown as import('@tensorflow/tfjs').io.ModelJSON);
}

/** Small seeded LCG: the minibatch order depends on the seed only. */
function sampler(seed: number, n: number): (count: number) => Int32Array {
  let s = seed >>> 0;
  return (count) => Int32Array.from({ length: count }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s % n; });
}

/** Trains the factors in place (a, b and the second layer's bias) and reports fidelity on a held-out 10 %; keeps them only where the held-out output error fell. */
export async function finetuneTfjs(modelPath: string, topology: object, factors: Map<string, Factorisation>, x: Tensor, o: FinetuneOptions): Promise<FinetuneResult> {
  const tf = await tfjs();
  const lr = o.learningRate ?? FINETUNE_DEFAULTS.learningRate;
  const T = o.temperature ?? FINETUNE_DEFAULTS.temperature;
  const { json, handler } = await tfjsFiles(modelPath);
  const teacher = await tf.loadLayersModel(handler);
  const outName = teacher.layers[teacher.layers.length - 1].name;
  const softmax = teacher.getLayer(outName).getConfig().activation === 'softmax';
  const originalTopology = json.modelTopology as object;
  // Training runs on logits (softmax removed); the fidelity checks use the models as written.
  const teacherLogits = softmax ? await build(tf, withLogitOutput(originalTopology, outName)) : teacher;
  const student = await build(tf, topology);
  const studentOut = student.layers[student.layers.length - 1].name;
  const studentLogits = softmax ? await build(tf, withLogitOutput(topology, studentOut)) : student;
  const disposables: TfTensor[] = [];
  try {
    if (teacherLogits !== teacher) for (const l of teacherLogits.layers) if (l.weights.length) l.setWeights(teacher.getLayer(l.name).getWeights());
    // tfjs-backend-wasm has no Conv2DBackpropFilter: there, convolution factors stay as
    // factorised and the Dense factors (usually most of the parameters) are trained.
    const convTrainable = tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
    const frozen: string[] = [];
    for (const layer of studentLogits.layers) {
      const m = /^(.*)_(u|v)$/.exec(layer.name);
      const f = m ? factors.get(m[1]) : undefined;
      if (!f) {
        if (layer.weights.length) layer.setWeights(teacher.getLayer(layer.name).getWeights());
        layer.trainable = false;
        continue;
      }
      const [kernel] = layer.weights;
      if (!convTrainable && layer.getClassName() !== 'Dense') { layer.trainable = false; frozen.push(layer.name); }
      if (m![2] === 'u') layer.setWeights([tf.tensor(f.a, kernel.shape as number[])]);
      else layer.setWeights([tf.tensor(f.b, kernel.shape as number[]), ...teacher.getLayer(m![1]).getWeights().slice(1)]);
    }
    // The written-model view shares nothing with the training view: copy weights across to measure.
    const syncStudent = (): void => { for (const l of student.layers) if (l.weights.length) l.setWeights(studentLogits.getLayer(l.name).getWeights()); };
    const n = x.shape[0];
    const held = Math.max(1, Math.floor(n * HELD_OUT));
    const all = tf.tensor(x.data, x.shape);
    const [xTrain, xHeld] = tf.split(all, [n - held, held]);
    const yTrain = teacherLogits.predict(xTrain, { batchSize: 1024 }) as TfTensor;
    const yHeld = teacher.predict(xHeld, { batchSize: 1024 }) as TfTensor;
    disposables.push(all, xTrain, xHeld, yTrain, yHeld);
    syncStudent();
    const before = fidelity(tf, yHeld, student.predict(xHeld, { batchSize: 1024 }) as TfTensor);

    const optimizer = tf.train.adam(lr);
    const vars = studentLogits.trainableWeights.map((w) => w.read() as import('@tensorflow/tfjs').Variable);
    const loss = (yb: TfTensor, sb: TfTensor): import('@tensorflow/tfjs').Scalar => softmax
      // T²·KL(softmax(t/T) ‖ softmax(s/T)), up to the teacher's constant entropy; T² keeps gradient scale independent of T.
      ? tf.mul(tf.neg(tf.mean(tf.sum(tf.mul(tf.softmax(tf.div(yb, T)), tf.logSoftmax(tf.div(sb, T))), -1))), T * T) as import('@tensorflow/tfjs').Scalar
      : tf.losses.meanSquaredError(yb, sb) as import('@tensorflow/tfjs').Scalar;
    const bs = Math.min(o.batchSize ?? FINETUNE_DEFAULTS.batchSize, n - held);
    const next = sampler(o.seed ?? FINETUNE_DEFAULTS.seed, n - held);
    for (let step = 0; step < o.steps; step++) {
      throwIfAborted(o.signal);
      // Cosine decay: large steps first to move away from the SVD starting point, then settle.
      (optimizer as unknown as { learningRate: number }).learningRate = lr * 0.5 * (1 + Math.cos(Math.PI * step / o.steps));
      const idx = tf.tensor1d(next(bs), 'int32');
      tf.tidy(() => {
        const xb = tf.gather(xTrain, idx), yb = tf.gather(yTrain, idx);
        optimizer.minimize(() => loss(yb, studentLogits.apply(xb, { training: true }) as TfTensor), false, vars);
      });
      idx.dispose();
      if (step % 50 === 0 || step === o.steps - 1) o.progress?.report((step + 1) / o.steps, 'fine-tuning');
    }
    optimizer.dispose();
    syncStudent();
    const after = fidelity(tf, yHeld, student.predict(xHeld, { batchSize: 1024 }) as TfTensor);
    if (!(after.relativeOutputError < before.relativeOutputError)) {
      return { steps: o.steps, before, after: before, discarded: after, ...(frozen.length ? { frozen } : {}) };
    }
    for (const [name, f] of factors) {
      f.a = student.getLayer(`${name}_u`).getWeights()[0].dataSync() as Float32Array;
      const [kernel, bias] = student.getLayer(`${name}_v`).getWeights();
      f.b = kernel.dataSync() as Float32Array;
      if (bias) f.bias = bias.dataSync() as Float32Array;
    }
    return { steps: o.steps, before, after, ...(frozen.length ? { frozen } : {}) };
  } finally {
    tf.dispose(disposables);
    for (const m of new Set([teacher, teacherLogits, student, studentLogits])) m.dispose();
  }
}
