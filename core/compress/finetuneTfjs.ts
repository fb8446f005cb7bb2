// Label-free fine-tuning of a factorised TF.js layers model: every weight that stays in the
// model (the factors, and the biases and layers left dense, e.g. a classifier head) is trained
// to reproduce the original model's outputs (distillation) on calibration inputs, at no
// parameter cost. For a softmax classifier the loss is the KL divergence between the teacher's
// and the student's softmax (Hinton et al.), which passes on the teacher's "dark knowledge"
// about near-miss classes that argmax agreement throws away; other outputs are matched by mean
// squared error. Adam with a cosine-decayed learning rate; seeded minibatch sampling, so runs
// are reproducible. The temperature is chosen per job on the held-out calibration inputs, by
// the rule every held-out choice uses (fidelity.ts: top-1 agreement where it differs beyond
// noise, otherwise output error):
// on the Fashion-MNIST MLP (top-1 agreement / relative output error),
// at 5 % of the parameters after 3 000 steps temperature 1 gives 93.6 % / 0.211 against 2's
// 93.2 % / 0.215 (4: 93.2 % / 0.221; 0.5: 93.6 % / 0.223) — a student that small spends its
// capacity better on the teacher's leading classes than on a softened tail — while at 34 %
// after 1 000 steps 2 gives 98.9 % / 0.057 against 1's 98.6 %. Matching the teacher on mixup
// inputs (convex mixes of two inputs, "a good teacher is patient and consistent") did worse
// at 5 %: 92.3 % / 0.239 at temperature 2. At 5 % over 8 000 steps at temperature 1, held-out
// agreement levels off after about 5 000 (94.2 %, then 94.0–94.1 %): there is no overfitting
// for early stopping to undo, and picking among such near-equal checkpoints picks noise; a
// peak learning rate of 5e-3 ends at 94.0 % against 2e-3's 94.1 %.
// A student that starts very close to its teacher is knocked away from it by that rate: on the
// MLP at 50 % (one layer factorised, held-out agreement 99.23 %) 1 000 steps at 2e-3 end at
// 99.15 %, at 2e-4 at 99.45 %. So training that ends no better than its start is tried again,
// from the same start, at a tenth of the rate (BACKOFF), before the start is kept.
import type { Tensor } from '../eval/tensor.js';
import { tfjs } from '../eval/tfjsRuntime.js';
import { throwIfAborted, type JobOptions } from '../types.js';
import { better, type Fidelity } from './fidelity.js';
import type { LayersSource } from './layersModel.js';
import type { Factorisation } from './types.js';

type Tf = Awaited<ReturnType<typeof tfjs>>;
type TfTensor = import('@tensorflow/tfjs').Tensor;
type LayersModel = import('@tensorflow/tfjs').LayersModel;

export interface FinetuneResult {
  /** Steps per temperature tried; `temperature` and `learningRate` are those of the training kept (or discarded). */
  steps: number; temperature: number; learningRate: number; before: Fidelity; after: Fidelity;
  /** Layers kept as they are, not trained: the backend has no gradient kernel for them. */
  frozen?: string[];
  /**
   * Held-out fidelity of the best trained weights when they are not better than the untrained
   * ones (fidelity.ts's rule); they are then discarded, the untrained ones written and `after`
   * equals `before`.
   */
  discarded?: Fidelity;
}

export interface FinetuneOptions extends JobOptions {
  steps: number;
  batchSize?: number;
  /** Peak learning rate; it decays to zero along a half cosine over the steps. */
  learningRate?: number;
  /** Softmax temperature of the distillation loss (softmax classifiers only); absent tries each of TEMPERATURES. */
  temperature?: number;
  /** The stored name of a layer's `index`-th weight, for `retrained`; absent: TF.js's own name, as a model.json manifest lists it. */
  storedName?: (layer: string, index: number) => string;
  seed?: number;
}

const FINETUNE_DEFAULTS = { batchSize: 256, learningRate: 2e-3, seed: 1 } as const;

/**
 * Softmax temperatures tried, each from the same start; held-out fidelity picks one.
 * A student far from its teacher does better at 1, one close to it at 2 (see the header).
 */
const TEMPERATURES = [1, 2];

/** The peak learning rate of the second try, as a share of the first's (see the header). */
const BACKOFF = 0.1;

/** Held-out share of the calibration inputs that decides whether trained weights are kept. */
const HELD_OUT = 0.1;

/** The held-out inputs: the last HELD_OUT of them (whitening's statistics come from the first ones). */
export function heldOut(x: Tensor): Tensor {
  const n = x.shape[0], held = Math.max(1, Math.floor(n * HELD_OUT)), per = x.data.length / n;
  return { data: x.data.subarray((n - held) * per), shape: [held, ...x.shape.slice(1)] };
}

/** Agreement of `student` with `teacher` outputs (same layout, e.g. both probabilities). */
function fidelity(tf: Tf, teacher: TfTensor, student: TfTensor): Fidelity {
  return tf.tidy(() => {
    const agree = tf.equal(teacher.argMax(-1), student.argMax(-1)).sum().dataSync()[0];
    const err = tf.norm(tf.sub(teacher, student)).dataSync()[0] / tf.norm(teacher).dataSync()[0];
    return { top1Agreement: agree / teacher.shape[0], relativeOutputError: err, samples: teacher.shape[0] };
  });
}

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

/** Small seeded LCG: the minibatch order depends on the seed only. */
function sampler(seed: number, n: number): (count: number) => Int32Array {
  let s = seed >>> 0;
  return (count) => Int32Array.from({ length: count }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s % n; });
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
  const f = fidelity(tf, target, p);
  tf.dispose([s, p]);
  return f;
}

/**
 * Trains the factorised model's weights and reports fidelity on a held-out 10 %. Where that
 * fidelity got better (fidelity.ts's rule), the trained factors replace `factors`' (a, b and the second
 * layer's bias) in place and the trained weights of layers left dense go into `retrained`
 * under their stored tensor names; otherwise both are left as they were.
 */
export async function finetuneTfjs(source: LayersSource, topology: object, factors: Map<string, Factorisation>, x: Tensor, o: FinetuneOptions, retrained = new Map<string, Float32Array>()): Promise<FinetuneResult> {
  const tf = await tfjs();
  const rates = [1, BACKOFF].map((share) => share * (o.learningRate ?? FINETUNE_DEFAULTS.learningRate));
  // Training runs on logits (softmax removed); fidelity compares the outputs as written.
  const t = await loadTeacher(source);
  const { teacher, teacherLogits, softmax } = t;
  const student = await studentOf(t, topology, factors);
  const disposables: TfTensor[] = [];
  try {
    // tfjs-backend-wasm has no Conv2DBackpropFilter: there, convolutions stay as they are and
    // the Dense layers (usually most of the parameters) are trained.
    const convTrainable = tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
    const frozen: string[] = [];
    for (const layer of student.layers) {
      if (!layer.weights.length || convTrainable || layer.getClassName() === 'Dense') continue;
      layer.trainable = false;
      if (/_(u|v)$/.test(layer.name)) frozen.push(layer.name);
    }
    const n = x.shape[0];
    const held = heldOut(x).shape[0];
    const all = tf.tensor(x.data, x.shape);
    const [xTrain, xHeld] = tf.split(all, [n - held, held]);
    const yTrain = teacherLogits.predict(xTrain, { batchSize: 1024 }) as TfTensor;
    const yHeld = teacher.predict(xHeld, { batchSize: 1024 }) as TfTensor;
    disposables.push(all, xTrain, xHeld, yTrain, yHeld);
    const score = (): Fidelity => scoreStudent(tf, t, student, xHeld, yHeld);
    const before = score();

    const vars = student.trainableWeights.map((w) => w.read() as import('@tensorflow/tfjs').Variable);
    const start = vars.map((v) => v.clone());
    disposables.push(...start);
    const loss = (yb: TfTensor, sb: TfTensor, T: number): import('@tensorflow/tfjs').Scalar => softmax
      // T²·KL(softmax(t/T) ‖ softmax(s/T)), up to the teacher's constant entropy; T² keeps gradient scale independent of T.
      ? tf.mul(tf.neg(tf.mean(tf.sum(tf.mul(tf.softmax(tf.div(yb, T)), tf.logSoftmax(tf.div(sb, T))), -1))), T * T) as import('@tensorflow/tfjs').Scalar
      : tf.losses.meanSquaredError(yb, sb) as import('@tensorflow/tfjs').Scalar;
    const bs = Math.min(o.batchSize ?? FINETUNE_DEFAULTS.batchSize, n - held);
    const temperatures = softmax ? (o.temperature !== undefined ? [o.temperature] : TEMPERATURES) : [1];
    // Progress counts the backoff's steps too: a first try that is kept ends the stage early.
    const runs = rates.length * temperatures.length * o.steps;
    /** Trains from the starting weights at temperature T (the same seeded minibatches for every T and rate). */
    const train = (T: number, lr: number, done: number): Fidelity => {
      vars.forEach((v, i) => v.assign(start[i]));
      const optimizer = tf.train.adam(lr);
      const next = sampler(o.seed ?? FINETUNE_DEFAULTS.seed, n - held);
      for (let step = 0; step < o.steps; step++) {
        throwIfAborted(o.signal);
        // Cosine decay: large steps first to move away from the SVD starting point, then settle.
        (optimizer as unknown as { learningRate: number }).learningRate = lr * 0.5 * (1 + Math.cos(Math.PI * step / o.steps));
        tf.tidy(() => {
          const idx = tf.tensor1d(next(bs), 'int32');
          const xb = tf.gather(xTrain, idx), yb = tf.gather(yTrain, idx);
          optimizer.minimize(() => loss(yb, student.apply(xb) as TfTensor, T), false, vars);
        });
        if (step % 50 === 0 || step === o.steps - 1) o.progress?.report((done + step + 1) / runs, 'fine-tuning');
      }
      optimizer.dispose();
      return score();
    };
    let best: { temperature: number; learningRate: number; after: Fidelity; values: TfTensor[] } | undefined;
    for (const [r, learningRate] of rates.entries()) {
      if (best && better(best.after, before, softmax)) break;
      for (const [i, temperature] of temperatures.entries()) {
        const after = train(temperature, learningRate, (r * temperatures.length + i) * o.steps);
        if (best && !better(after, best.after, softmax)) continue;
        tf.dispose(best?.values ?? []);
        best = { temperature, learningRate, after, values: vars.map((v) => v.clone()) };
      }
    }
    vars.forEach((v, i) => v.assign(best!.values[i]));
    tf.dispose(best!.values);
    const { after, temperature, learningRate } = best!;
    const result = { steps: o.steps, temperature, learningRate, before, ...(frozen.length ? { frozen } : {}) };
    if (!better(after, before, softmax)) return { ...result, after: before, discarded: after };
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
    return { ...result, after };
  } finally {
    tf.dispose(disposables);
    student.dispose();
    t.dispose();
  }
}
