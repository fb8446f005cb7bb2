// Label-free fine-tuning by distillation, for any student whose weights are TF.js variables
// (a TF.js layers model, runners/tfjsFinetune.ts; an ONNX graph run in TF.js, formats/onnx/finetune.ts): the
// weights are trained to reproduce the original model's outputs on calibration inputs, at no
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
import type { tfjs } from '../formats/tfjs/runtime.js';
import { checkpoint, type JobOptions } from '../types.js';
import { better, type Fidelity } from './fidelity.js';

type Tf = Awaited<ReturnType<typeof tfjs>>;
type TfTensor = import('@tensorflow/tfjs').Tensor;
type Variable = import('@tensorflow/tfjs').Variable;

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
  /** Where the steps ran, for formats that can train in more than one runtime: "PyTorch (CPU · torch 1.13.1)", "TF.js". */
  trainedIn?: string;
  /** Why PyTorch did not train a model it could have (Python or torch missing, an operator it does not run). */
  notInPyTorch?: string;
}

export interface FinetuneOptions extends JobOptions {
  steps: number;
  batchSize?: number;
  /** Peak learning rate; it decays to zero along a half cosine over the steps. */
  learningRate?: number;
  /** Softmax temperature of the distillation loss (softmax classifiers only); absent tries each of TEMPERATURES. */
  temperature?: number;
  seed?: number;
}

export const FINETUNE_DEFAULTS = { batchSize: 256, learningRate: 2e-3, seed: 1 } as const;

/**
 * Values of the rows one run or one training step takes at once. A model's activations grow
 * with its input, so a fixed row count that suits Fashion-MNIST (256 rows of 784 values) held
 * 3 GiB on PaddleOCR's recogniser (lines of 46 080 values, 530 000 class scores each): rows are
 * bounded by values, as the written variants' runs are (runners/written.ts).
 */
const ROW_VALUES = 2 ** 18;

/** Rows of `valuesPerRow` values run or trained on at once: at most `most`, at least one. */
export function rowsWithin(most: number, valuesPerRow: number): number {
  return Math.max(1, Math.min(most, Math.floor(ROW_VALUES / valuesPerRow)));
}

/** Rows one forward run outside training takes at once (teacher outputs, held-out scores). */
export const runRows = (valuesPerRow: number): number => rowsWithin(1024, valuesPerRow);

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

/**
 * Agreement of `student` with `teacher` outputs (same layout, e.g. both probabilities): top-1
 * over the last axis at every position, so a sequence's scores ([inputs, steps, classes], as a
 * CTC recogniser's) agree as a share of its steps, not as a count of them per input.
 */
export function tensorFidelity(tf: Tf, teacher: TfTensor, student: TfTensor): Fidelity {
  return tf.tidy(() => {
    const agree = tf.equal(teacher.argMax(-1), student.argMax(-1)).sum().dataSync()[0];
    const err = tf.norm(tf.sub(teacher, student)).dataSync()[0] / tf.norm(teacher).dataSync()[0];
    const positions = teacher.size / teacher.shape[teacher.rank - 1];
    return { top1Agreement: agree / positions, relativeOutputError: err, samples: teacher.shape[0] };
  });
}

/**
 * Rows of `t` by index, as a new tensor: copied from a host copy of `t`, read once, since
 * tfjs-backend-wasm's GatherV2 costs 7 ms of CPU for 256 rows of 784 values — as much as
 * the rest of a distillation step on a 1.3 M parameter MLP.
 */
function rowsOf(tf: Tf, t: Tensor): (idx: Int32Array) => TfTensor {
  const width = t.data.length / t.shape[0];
  return (idx) => {
    const out = new Float32Array(idx.length * width);
    idx.forEach((row, i) => out.set(t.data.subarray(row * width, (row + 1) * width), i * width));
    return tf.tensor(out, [idx.length, ...t.shape.slice(1)]);
  };
}

/** A tensor's values on the host, the tensor disposed: teacher outputs are read only row by row. */
export function toHost(t: TfTensor): Tensor {
  try {
    return { data: t.dataSync() as Float32Array, shape: t.shape };
  } finally {
    t.dispose();
  }
}

/** Progress after `step` of the search's `runs` steps, in the words every trainer uses (the fine-tuning bench reads them). */
export function reportStep(o: FinetuneOptions, step: number, runs: number): void {
  o.progress?.report(step / runs, `fine-tuning, step ${step} of at most ${runs}`);
}

/** Small seeded LCG: the minibatch order depends on the seed only. */
function sampler(seed: number, n: number): (count: number) => Int32Array {
  let s = seed >>> 0;
  return (count) => Int32Array.from({ length: count }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s % n; });
}

export interface Student {
  /** The weights trained; after `distil` they hold the trained values, or the starting ones where training was discarded. */
  variables: Variable[];
  /** The student's logits (its outputs without the final softmax of a softmax classifier) for a batch, under a gradient tape. */
  logits(x: TfTensor): TfTensor;
  /** Its outputs as written (probabilities for a softmax classifier) for every row of `x`. */
  predict(x: TfTensor): TfTensor;
}

/** The teacher's side, on the calibration inputs split into training and held-out rows. */
export interface Targets {
  xTrain: TfTensor;
  /** The teacher's logits on xTrain, on the host (they can outweigh the model: 573 MB on PaddleOCR's recogniser). */
  yTrain: Tensor;
  xHeld: TfTensor;
  /** The teacher's outputs as written on xHeld. */
  yHeld: TfTensor;
  softmax: boolean;
}

/** Splits calibration inputs into training and held-out rows (heldOut's), as tensors to dispose. */
export function splitInputs(tf: Tf, x: Tensor): { xTrain: TfTensor; xHeld: TfTensor } {
  const n = x.shape[0], held = heldOut(x).shape[0];
  return tf.tidy(() => {
    const [xTrain, xHeld] = tf.split(tf.tensor(x.data, x.shape), [n - held, held]);
    return { xTrain, xHeld };
  });
}

/**
 * Trains `student` towards the teacher's outputs; the result reports fidelity on the held-out
 * rows before and after. Where training is not better than the start (fidelity.ts's rule) the
 * student's variables are set back to their starting values and the result says `discarded`.
 * Each step lets the event loop run (checkpoint), so a cancellation stops training within a step.
 */
export async function distil(tf: Tf, student: Student, t: Targets, o: FinetuneOptions): Promise<FinetuneResult> {
  const vars = student.variables;
  const score = (): Fidelity => {
    const out = student.predict(t.xHeld);
    try {
      return tensorFidelity(tf, t.yHeld, out);
    } finally {
      out.dispose();
    }
  };
  const before = score();
  const start = vars.map((v) => v.clone());
  let best: TfTensor[] = [];
  try {
    const loss = (yb: TfTensor, sb: TfTensor, T: number): import('@tensorflow/tfjs').Scalar => t.softmax
      // T²·KL(softmax(t/T) ‖ softmax(s/T)), up to the teacher's constant entropy; T² keeps gradient scale independent of T.
      ? tf.mul(tf.neg(tf.mean(tf.sum(tf.mul(tf.softmax(tf.div(yb, T)), tf.logSoftmax(tf.div(sb, T))), -1))), T * T) as import('@tensorflow/tfjs').Scalar
      : tf.losses.meanSquaredError(yb, sb) as import('@tensorflow/tfjs').Scalar;
    const n = t.xTrain.shape[0];
    const xRows = rowsOf(tf, { data: t.xTrain.dataSync() as Float32Array, shape: t.xTrain.shape }), yRows = rowsOf(tf, t.yTrain);
    // A minibatch's rows are bounded by their inputs and the teacher's outputs together.
    const bs = Math.min(n, rowsWithin(o.batchSize ?? FINETUNE_DEFAULTS.batchSize, (t.xTrain.size + t.yTrain.data.length) / n));
    const result = await searchTraining(before, t.softmax, o, {
      /** Trains from the starting weights at temperature T (the same seeded minibatches for every T and rate). */
      async train(T, lr, done, runs) {
        vars.forEach((v, i) => v.assign(start[i]));
        const optimizer = tf.train.adam(lr);
        const next = sampler(o.seed ?? FINETUNE_DEFAULTS.seed, n);
        for (let step = 0; step < o.steps; step++) {
          await checkpoint(o.signal);
          // Cosine decay: large steps first to move away from the SVD starting point, then settle.
          (optimizer as unknown as { learningRate: number }).learningRate = lr * 0.5 * (1 + Math.cos(Math.PI * step / o.steps));
          tf.tidy(() => {
            const idx = next(bs);
            const xb = xRows(idx), yb = yRows(idx);
            optimizer.minimize(() => loss(yb, student.logits(xb), T), false, vars);
          });
          if (step % 50 === 0 || step === o.steps - 1) reportStep(o, done + step + 1, runs);
        }
        optimizer.dispose();
        return score();
      },
      keep() {
        tf.dispose(best);
        best = vars.map((v) => v.clone());
      },
    });
    vars.forEach((v, i) => v.assign(result.discarded ? start[i] : best[i]));
    return result;
  } finally {
    tf.dispose(start);
    tf.dispose(best);
  }
}

/** A student trained from its starting weights: TF.js variables (distil), or the PyTorch runner's module (runners/torchFinetune.ts). */
export interface Trainer {
  /** Trains from the starting weights; the held-out fidelity after. `done` of `runs` steps ran before this try (progress). */
  train(temperature: number, learningRate: number, done: number, runs: number): Promise<Fidelity>;
  /** Remembers the weights just trained as the best so far. */
  keep(): void | Promise<void>;
}

/**
 * Which training to keep, whoever trains: each temperature from the same start, then the
 * backoff rate where none beat the start; held-out fidelity (fidelity.ts's rule) picks. The
 * trainer's kept weights are the best's; a result that says `discarded` means the start's win.
 * `classifier`: outputs are class scores (softmax temperatures apply).
 */
export async function searchTraining(before: Fidelity, classifier: boolean, o: FinetuneOptions, trainer: Trainer): Promise<FinetuneResult> {
  const rates = [1, BACKOFF].map((share) => share * (o.learningRate ?? FINETUNE_DEFAULTS.learningRate));
  const temperatures = classifier ? (o.temperature !== undefined ? [o.temperature] : TEMPERATURES) : [1];
  // Progress counts the backoff's steps too: a first try that is kept ends the stage early.
  const runs = rates.length * temperatures.length * o.steps;
  let best: { temperature: number; learningRate: number; after: Fidelity } | undefined;
  for (const [r, learningRate] of rates.entries()) {
    if (best && better(best.after, before, classifier)) break;
    for (const [i, temperature] of temperatures.entries()) {
      const after = await trainer.train(temperature, learningRate, (r * temperatures.length + i) * o.steps, runs);
      if (best && !better(after, best.after, classifier)) continue;
      await trainer.keep();
      best = { temperature, learningRate, after };
    }
  }
  const { after, temperature, learningRate } = best!;
  const result = { steps: o.steps, temperature, learningRate, before };
  return better(after, before, classifier) ? { ...result, after } : { ...result, after: before, discarded: after };
}
