// Elementwise arithmetic, activations, softmax and means of an ONNX graph run in TF.js
// (inTfjs.ts). Arithmetic on two integer tensors (shape arithmetic) runs on the host.
import { intAttr } from './read.js';
import { axesOf, axisOf, floatAttr, Host, size, tensorOf, unary, type Op, type Tf, type TfTensor, type Value } from './inTfjsValues.js';

/** Elementwise on two values: on the host when both are, else in TF.js with broadcasting. */
function binary(tfOp: (tf: Tf, a: TfTensor, b: TfTensor) => TfTensor, hostOp: (a: number, b: number) => number): Op {
  return (tf, _n, [a, b]) => {
    if (a instanceof Host && b instanceof Host) {
      const len = Math.max(a.data.length, b.data.length);
      const at = (h: Host, i: number): number => h.data[h.data.length === 1 ? 0 : i];
      return [new Host(a.data.length >= b.data.length ? a.dims : b.dims, Array.from({ length: len }, (_, i) => hostOp(at(a, i), at(b, i))))];
    }
    return [tfOp(tf, tensorOf(tf, a), tensorOf(tf, b))];
  };
}

/** Max / Min of one or more inputs (ONNX's variadic form), pairwise with broadcasting. */
function variadic(tfOp: (tf: Tf, a: TfTensor, b: TfTensor) => TfTensor, hostOp: (a: number, b: number) => number): Op {
  const pair = binary(tfOp, hostOp);
  return (tf, n, inputs, opset) => [inputs.slice(1).reduce<Value>((acc, v) => pair(tf, n, [acc, v], opset)[0], inputs[0]!)];
}

/** Softmax / LogSoftmax on `axis`; before opset 13 the input is seen as 2-D, split at the axis. */
function softmaxOp(log: boolean): Op {
  return (tf, n, [v], opset) => {
    const x = tensorOf(tf, v);
    const axis = axisOf(intAttr(n, 'axis', opset < 13 ? 1 : -1), x.rank);
    const f = (t: TfTensor): TfTensor => (log ? tf.logSoftmax(t) : tf.softmax(t));
    if (opset < 13) return [f(x.reshape([size(x.shape.slice(0, axis)), size(x.shape.slice(axis))])).reshape(x.shape)];
    if (axis === x.rank - 1) return [f(x)];
    const perm = [...Array(x.rank).keys()].filter((i) => i !== axis).concat(axis);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [f(x.transpose(perm)).transpose(inverse)];
  };
}

export const ARITHMETIC_OPS: Record<string, Op> = {
  Add: binary((tf, a, b) => tf.add(a, b), (a, b) => a + b),
  Sub: binary((tf, a, b) => tf.sub(a, b), (a, b) => a - b),
  Mul: binary((tf, a, b) => tf.mul(a, b), (a, b) => a * b),
  Div: binary((tf, a, b) => tf.div(a, b), (a, b) => Math.trunc(a / b)),
  Pow: binary((tf, a, b) => tf.pow(a, b), (a, b) => a ** b),
  Max: variadic((tf, a, b) => tf.maximum(a, b), Math.max),
  Min: variadic((tf, a, b) => tf.minimum(a, b), Math.min),
  Relu: unary((tf, x) => tf.relu(x)),
  LeakyRelu: unary((tf, x, n) => tf.leakyRelu(x, floatAttr(n, 'alpha', 0.01))),
  Elu: unary((tf, x, n) => { const a = floatAttr(n, 'alpha', 1); return a === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(tf.sub(tf.exp(x), 1), a)); }),
  Sigmoid: unary((tf, x) => tf.sigmoid(x)),
  HardSigmoid: unary((tf, x, n) => tf.clipByValue(tf.add(tf.mul(x, floatAttr(n, 'alpha', 0.2)), floatAttr(n, 'beta', 0.5)), 0, 1)),
  Tanh: unary((tf, x) => tf.tanh(x)),
  Exp: unary((tf, x) => tf.exp(x)),
  Log: unary((tf, x) => tf.log(x)),
  Sqrt: unary((tf, x) => tf.sqrt(x)),
  Neg: unary((tf, x) => tf.neg(x)),
  Abs: unary((tf, x) => tf.abs(x)),
  Erf: unary((tf, x) => tf.erf(x)),
  Clip: (tf, n, [x, lo, hi], opset) => {
    const bound = (v: Value | undefined, attr: string, fallback: number): number => (opset < 11 ? floatAttr(n, attr, fallback) : v ? tensorOf(tf, v).dataSync()[0] : fallback);
    return [tf.clipByValue(tensorOf(tf, x), bound(lo, 'min', -3.4e38), bound(hi, 'max', 3.4e38))];
  },
  Softmax: softmaxOp(false),
  LogSoftmax: softmaxOp(true),
  ReduceMean: (tf, n, [x, axes]) => {
    const t = tensorOf(tf, x);
    const a = axesOf(n, axes)?.map((v) => axisOf(v, t.rank));
    return [tf.mean(t, a, intAttr(n, 'keepdims', 1) === 1)];
  },
};
