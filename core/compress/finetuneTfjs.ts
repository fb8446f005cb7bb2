// Label-free fine-tuning of a factorised TF.js layers model: the factor layers are trained to
// reproduce the original model's outputs (soft targets, i.e. distillation) on calibration
// inputs; every other layer stays frozen. Seeded batch order, so runs are reproducible.
import type { Tensor } from '../eval/tensor.js';
import { loadTfjsLayersModel, tfjs } from '../eval/tfjsRuntime.js';
import { throwIfAborted, type JobOptions } from '../types.js';
import type { Factorisation } from './types.js';

type TfTensor = import('@tensorflow/tfjs').Tensor;

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
  learningRate?: number;
  seed?: number;
}

function fidelity(tf: Awaited<ReturnType<typeof tfjs>>, teacher: TfTensor, student: TfTensor): Fidelity {
  return tf.tidy(() => {
    const agree = tf.equal(teacher.argMax(-1), student.argMax(-1)).sum().dataSync()[0];
    const err = tf.norm(tf.sub(teacher, student)).dataSync()[0] / tf.norm(teacher).dataSync()[0];
    return { top1Agreement: agree / teacher.shape[0], relativeOutputError: err, samples: teacher.shape[0] };
  });
}

/** Trains the factors in place (a, b and the second layer's bias) and reports fidelity on a held-out 10 %; keeps them only where the held-out output error fell. */
export async function finetuneTfjs(modelPath: string, topology: object, factors: Map<string, Factorisation>, x: Tensor, o: FinetuneOptions): Promise<FinetuneResult> {
  const tf = await tfjs();
  const teacher = await loadTfjsLayersModel(modelPath);
  const student = await tf.models.modelFromJSON({ modelTopology: topology } as unknown as import('@tensorflow/tfjs').io.ModelJSON);
  try {
    // tfjs-backend-wasm has no Conv2DBackpropFilter: there, convolution factors stay as
    // factorised and the Dense factors (usually most of the parameters) are trained.
    const convTrainable = tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
    const frozen: string[] = [];
    for (const layer of student.layers) {
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
    const n = x.shape[0];
    const held = Math.max(1, Math.floor(n / 10));
    const all = tf.tensor(x.data, x.shape);
    const [xTrain, xHeld] = tf.split(all, [n - held, held]);
    const yTrain = teacher.predict(xTrain, { batchSize: 512 }) as TfTensor;
    const yHeld = teacher.predict(xHeld, { batchSize: 512 }) as TfTensor;
    const softmax = (teacher.layers[teacher.layers.length - 1].getConfig().activation === 'softmax');
    student.compile({ optimizer: tf.train.adam(o.learningRate ?? 5e-4), loss: softmax ? 'categoricalCrossentropy' : 'meanSquaredError' });
    const before = fidelity(tf, yHeld, student.predict(xHeld, { batchSize: 512 }) as TfTensor);
    const bs = Math.min(o.batchSize ?? 128, n - held);
    let s = (o.seed ?? 1) >>> 0;
    for (let step = 0; step < o.steps; step++) {
      throwIfAborted(o.signal);
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const start = s % Math.max(1, n - held - bs + 1);
      const xb = xTrain.slice([start], [bs]), yb = yTrain.slice([start], [bs]);
      await student.trainOnBatch(xb, yb);
      tf.dispose([xb, yb]);
      o.progress?.report((step + 1) / o.steps, 'fine-tuning');
    }
    const after = fidelity(tf, yHeld, student.predict(xHeld, { batchSize: 512 }) as TfTensor);
    if (!(after.relativeOutputError < before.relativeOutputError)) {
      tf.dispose([all, xTrain, xHeld, yTrain, yHeld]);
      return { steps: o.steps, before, after: before, discarded: after, ...(frozen.length ? { frozen } : {}) };
    }
    for (const [name, f] of factors) {
      f.a = student.getLayer(`${name}_u`).getWeights()[0].dataSync() as Float32Array;
      const [kernel, bias] = student.getLayer(`${name}_v`).getWeights();
      f.b = kernel.dataSync() as Float32Array;
      if (bias) f.bias = bias.dataSync() as Float32Array;
    }
    tf.dispose([all, xTrain, xHeld, yTrain, yHeld]);
    return { steps: o.steps, before, after, ...(frozen.length ? { frozen } : {}) };
  } finally {
    teacher.dispose();
    student.dispose();
  }
}
