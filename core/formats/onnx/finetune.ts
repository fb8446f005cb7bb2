// Label-free fine-tuning of a factorised ONNX model (distil.ts trains it): the graph runs in
// TF.js (onnx/inTfjs.ts) with each factorised layer's weight computed from its factors, so the
// factors, the layers' biases and the layers left dense are trained to reproduce the original
// model's outputs; the file is then written by the ONNX writer as any other factorisation,
// the trained tensors replacing the stored ones under their own names.
import type { Tensor } from '../../eval/tensor.js';
import { onnxProgram, type OnnxProgram, type Weights } from './inTfjs.js';
import { Factored } from './inTfjsValues.js';
import { tfjs } from '../tfjs/runtime.js';
import { initializerNames, type OnnxModel } from './read.js';
import type { StoredModel } from '../storedModel.js';
import { InputError } from '../../types.js';
import { distil, runRows, splitInputs, type FinetuneOptions, type FinetuneResult } from '../../compress/distil.js';
import type { Factorisation } from '../../compress/types.js';

type Tf = Awaited<ReturnType<typeof tfjs>>;
type TfTensor = import('@tensorflow/tfjs').Tensor;
type Variable = import('@tensorflow/tfjs').Variable;
type StoredLayer = StoredModel['layers'][number];

/** The most the frozen part's outputs may take, for all calibration inputs, to be kept rather than recomputed every step. */
const FEATURE_BYTES = 2 ** 30;

/** The stored weight a factorisation stands for, from its factors (transposed, or re-laid out, as the layer stores it). */
function storedWeight(tf: Tf, layer: StoredLayer, a: TfTensor, b: TfTensor, f: Factorisation): TfTensor {
  const ab = tf.matMul(a, b);
  if (f.layout) return tf.slice(ab.reshape([-1]), 0, layer.params).reshape(layer.shape);
  return (layer.transposed ? ab.transpose() : ab).reshape(layer.shape);
}

/**
 * `run` on every row of `x`, runRows' rows at a time, each chunk's output moved to the host as
 * it comes: TF.js's heap never grows back, so gathering the chunks there and concatenating
 * them held PaddleOCR's recogniser's teacher outputs (573 MB) three times over.
 */
function runToHost(tf: Tf, run: (chunk: TfTensor) => TfTensor, x: TfTensor): Tensor {
  const n = x.shape[0], chunk = runRows(x.size / Math.max(1, n));
  let out: Tensor | undefined;
  for (let i = 0; i < n; i += chunk) {
    const part = tf.tidy(() => run(x.slice(i, Math.min(chunk, n - i))));
    const values = part.dataSync() as Float32Array, width = values.length / part.shape[0];
    out ??= { data: new Float32Array(n * width), shape: [n, ...part.shape.slice(1)] };
    out.data.set(values, i * width);
    part.dispose();
  }
  return out!;
}

/** runToHost's output as a TF.js tensor. */
function runAll(tf: Tf, run: (chunk: TfTensor) => TfTensor, x: TfTensor): TfTensor {
  const out = runToHost(tf, run, x);
  return tf.tensor(out.data, out.shape);
}

/**
 * The frozen part's outputs for every calibration input, computed once, where training starts
 * past the input (frozen convolutions on tfjs-backend-wasm, which has no filter gradient):
 * each step then runs only the trained part. The frontier's values are flattened side by side
 * into one row per input, so minibatches are drawn from them as from inputs. Undefined where
 * the part is the whole graph, a frontier value is an integer (a shape) or not batch-major,
 * or the rows would take more than FEATURE_BYTES.
 */
function frozenFeatures(tf: Tf, program: OnnxProgram, trained: ReadonlySet<string>, weights: Weights, xTrain: TfTensor, xHeld: TfTensor):
  { train: TfTensor; held: TfTensor; run(rows: TfTensor, weights: Weights, until?: string): TfTensor } | undefined {
  const part = program.split(trained);
  if (part.frontier.includes(program.input)) return undefined;
  // Rows are cut per input, so every frontier value must run along the batch in its first axis
  // and nowhere else (a Transpose of the input, as a transA Gemm reads it, does not).
  const shapes = (rows: number): number[][] | undefined => tf.tidy(() => part.frontierValues(tf, xTrain.slice(0, rows), weights)?.map((v) => v.shape));
  const [two, three] = xTrain.shape[0] >= 3 ? [shapes(2), shapes(3)] : [];
  if (!two || !three || two.some((s, i) => s[0] !== 2 || three[i][0] !== 3 || s.slice(1).join() !== three[i].slice(1).join())) return undefined;
  const probe = two.map((s) => s.slice(1));
  const widths = probe.map((shape) => shape.reduce((a, b) => a * b, 1));
  const width = widths.reduce((a, b) => a + b, 0);
  if ((xTrain.shape[0] + xHeld.shape[0]) * width * 4 > FEATURE_BYTES) return undefined;
  const rows = (x: TfTensor): TfTensor => runAll(tf, (c) => tf.concat(part.frontierValues(tf, c, weights)!.map((v) => v.reshape([c.shape[0], -1])), 1), x);
  return {
    train: rows(xTrain), held: rows(xHeld),
    run: (r, w, until) => part.run(tf, new Map(tf.split(r, widths, 1).map((v, i) => [part.frontier[i], v.reshape([r.shape[0], ...probe[i]])])), w, until),
  };
}

/**
 * Trains the factorised ONNX model's weights and reports fidelity on a held-out 10 %. Where
 * that fidelity got better (fidelity.ts's rule), the trained factors replace `factors`' a and b
 * in place and every other trained tensor (biases, layers left dense) goes into `retrained`
 * under its initializer's name; otherwise both are left as they were.
 */
export async function finetuneOnnx(model: OnnxModel, factors: Map<string, Factorisation>, x: Tensor, o: FinetuneOptions, retrained: Map<string, Float32Array>): Promise<FinetuneResult> {
  const tf = await tfjs();
  const program = await onnxProgram(model);
  const initializers = initializerNames(model.extra);
  const disposables: TfTensor[] = [];
  const keep = <T extends TfTensor>(t: T): T => { disposables.push(t); return t; };
  try {
    const original = new Map<string, TfTensor>();
    for (const name of program.weights) original.set(name, keep(tf.tensor(await model.readTensor(name), model.tensor(name).shape)));
    // A backend without a convolution filter gradient keeps convolutions as they are and trains
    // the matrix products, as for TF.js models; tfjs-backend-wasm gets ours (tfjs/convGradKernels.ts).
    const convTrainable = tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
    const trains = (layer: StoredLayer): boolean => convTrainable || layer.kind === 'matmul' || layer.kind === 'gemm';
    const variables: Variable[] = [];
    const trainable = (values: TfTensor): Variable => { const v = keep(tf.variable(values)); variables.push(v); return v; };
    /** What the student reads instead of the stored tensor, by name. */
    const student = new Map<string, TfTensor | (() => TfTensor | Factored)>();
    const factorVars = new Map<string, [Variable, Variable]>();
    const trained = new Map<string, Variable>();
    const frozen: string[] = [];
    for (const layer of model.layers) {
      const f = factors.get(layer.name);
      const train = trains(layer);
      if (f) {
        const a = tf.tensor2d(f.a, [f.a.length / f.rank, f.rank]), b = tf.tensor2d(f.b, [f.rank, f.b.length / f.rank]);
        if (train) {
          const [va, vb] = [trainable(a), trainable(b)];
          factorVars.set(layer.name, [va, vb]);
          const dense = (): TfTensor => storedWeight(tf, layer, va, vb, f);
          // A re-laid-out weight is no product of its factors' shape: products read it dense.
          student.set(layer.weight, f.layout ? dense : () => new Factored(va, vb, layer.transposed, dense));
        } else {
          student.set(layer.weight, keep(storedWeight(tf, layer, a, b, f)));
          frozen.push(layer.name);
        }
        tf.dispose([a, b]);
      } else if (train && initializers.has(layer.weight)) {
        trained.set(layer.weight, trainable(original.get(layer.weight)!));
      }
      const bias = layer.bias;
      if (train && bias && initializers.has(bias) && !trained.has(bias)) trained.set(bias, trainable(original.get(bias)!));
    }
    if (!variables.length) throw new InputError(model.path, 'nothing to fine-tune: every factorised layer is a convolution, and this TF.js backend has no gradient for convolution filters');
    for (const [name, v] of trained) student.set(name, v);
    const studentWeights: Weights = (name) => {
      const s = student.get(name);
      return typeof s === 'function' ? s() : s ?? original.get(name)!;
    };
    const teacherWeights: Weights = (name) => original.get(name)!;

    const softmax = program.logits !== undefined;
    const { xTrain, xHeld } = splitInputs(tf, x);
    keep(xTrain); keep(xHeld);
    const yTrain = runToHost(tf, (xs) => program.run(tf, xs, teacherWeights, program.logits), xTrain);
    const yHeld = keep(runAll(tf, (xs) => program.run(tf, xs, teacherWeights), xHeld));
    const features = frozenFeatures(tf, program, new Set([...student.keys()].filter((name) => typeof student.get(name) === 'function' || trained.has(name))), studentWeights, xTrain, xHeld);
    let logits = (xb: TfTensor): TfTensor => program.run(tf, xb, studentWeights, program.logits);
    let predict = (xs: TfTensor): TfTensor => runAll(tf, (c) => program.run(tf, c, studentWeights), xs);
    let inputs = { xTrain, xHeld };
    if (features) {
      keep(features.train); keep(features.held);
      logits = (fb) => features.run(fb, studentWeights, program.logits);
      predict = (fs) => runAll(tf, (c) => features.run(c, studentWeights), fs);
      inputs = { xTrain: features.train, xHeld: features.held };
    }
    const result = await distil(tf, { variables, logits, predict }, { ...inputs, yTrain, yHeld, softmax }, o);
    const out = { ...result, ...(frozen.length ? { frozen } : {}) };
    if (result.discarded) return out;
    for (const [name, [va, vb]] of factorVars) {
      const f = factors.get(name)!;
      f.a = va.dataSync() as Float32Array;
      f.b = vb.dataSync() as Float32Array;
    }
    for (const [name, v] of trained) retrained.set(name, v.dataSync() as Float32Array);
    return out;
  } finally {
    tf.dispose(disposables);
  }
}
