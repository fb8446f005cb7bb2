// The layers of an ONNX graph run in TF.js (inTfjs.ts): matrix products, convolutions, pools
// and batch normalisation. ONNX lays images out NCHW; TF.js's convolutions and pools take NHWC.
import { intAttr, intsAttr, onnxWindow, stringAttr } from './read.js';
import type { NodeMessage } from './schema.js';
import { Factored, floatAttr, tensorOf, unary, type Op, type Tf, type TfTensor, type Value } from './inTfjsValues.js';

type Tensor4D = import('@tensorflow/tfjs').Tensor4D;

/** NCHW → NHWC for TF.js's convolutions and pools (a 1-D one gets a unit height), and back. */
function channelsLast(tf: Tf, x: TfTensor): TfTensor {
  if (x.rank === 3) return x.transpose([0, 2, 1]).expandDims(1);
  if (x.rank === 4) return x.transpose([0, 2, 3, 1]);
  throw new Error(`only 1-D and 2-D convolutions and pools run in TF.js (input of rank ${x.rank})`);
}
function channelsFirst(x: TfTensor, rank: number): TfTensor {
  return rank === 3 ? x.squeeze([1]).transpose([0, 2, 1]) : x.transpose([0, 3, 1, 2]);
}

/** A window op's geometry (onnxWindow) on TF.js's 2-D view: a 1-D one gets a unit height. */
function window2d(n: NodeMessage, spatial: number): { strides: [number, number]; dilations: [number, number]; pads: [number, number][] | 'same' | 'valid' } {
  const w = onnxWindow(n, spatial);
  if (!w) throw new Error(`auto_pad ${stringAttr(n, 'auto_pad')} is not supported`);
  const pads = typeof w.padding === 'string' || spatial === 2 ? w.padding : [[0, 0] as [number, number], w.padding[0]];
  return { strides: unitHeight(w.strides), dilations: unitHeight(w.dilations), pads };
}
const unitHeight = (v: number[]): [number, number] => (v.length === 1 ? [1, v[0]] : [v[0], v[1]]);
function padded(tf: Tf, x: TfTensor, pads: [number, number][], value = 0): TfTensor {
  return pads.some(([a, b]) => a || b) ? tf.pad(x, [[0, 0], ...pads, [0, 0]], value) : x;
}

function pool(kind: 'max' | 'avg'): Op {
  return (tf, n, [v]) => {
    const x = tensorOf(tf, v);
    const spatial = x.rank - 2;
    if (intAttr(n, 'ceil_mode', 0) !== 0) throw new Error('ceil_mode 1 is not supported');
    const { strides: s, dilations, pads } = window2d(n, spatial);
    if (dilations.some((d) => d !== 1)) throw new Error('dilated pooling is not supported');
    const explicit = typeof pads !== 'string' && pads.some(([a, b]) => a || b);
    if (kind === 'avg' && explicit && intAttr(n, 'count_include_pad', 0) === 0) throw new Error('average pooling over pads that are not counted is not supported');
    let h = channelsLast(tf, x);
    if (typeof pads !== 'string') h = padded(tf, h, pads, kind === 'max' ? -Infinity : 0);
    const k = unitHeight(intsAttr(n, 'kernel_shape') ?? Array<number>(spatial).fill(1));
    const mode = typeof pads === 'string' ? pads : 'valid';
    return [channelsFirst(kind === 'max' ? tf.maxPool(h as Tensor4D, k, s, mode) : tf.avgPool(h as Tensor4D, k, s, mode), x.rank)];
  };
}

const conv: Op = (tf, n, [xv, wv, bv]) => {
  const x = tensorOf(tf, xv), w = tensorOf(tf, wv);
  const spatial = x.rank - 2, cin = x.shape[1], cout = w.shape[0], group = intAttr(n, 'group', 1);
  const { strides: s, dilations: d, pads } = window2d(n, spatial);
  const h = typeof pads === 'string' ? channelsLast(tf, x) : padded(tf, channelsLast(tf, x), pads);
  const mode = typeof pads === 'string' ? pads : 'valid';
  // Filters [cout, cin/group, k…] → [kh, kw, cin/group, cout] (a 1-D kernel gets a unit height).
  const w4 = spatial === 1 ? w.expandDims(2) : w;
  const dense = (input: TfTensor, filter: TfTensor): TfTensor => tf.conv2d(input as Tensor4D, filter.transpose([2, 3, 1, 0]) as Tensor4D, s, mode, 'NHWC', d);
  let y: TfTensor;
  if (group === 1) y = dense(h, w4);
  else if (group === cin && cout % cin === 0) {
    // Depthwise: output channel c·m + j reads input channel c.
    const m = cout / cin;
    y = tf.depthwiseConv2d(h as Tensor4D, w4.reshape([cin, m, w4.shape[2]!, w4.shape[3]!]).transpose([2, 3, 0, 1]) as Tensor4D, s, mode, 'NHWC', d);
  } else {
    // Other groups: each group's input channels through its own filters, outputs side by side.
    const inputs = tf.split(h, group, 3), filters = tf.split(w4, group, 0);
    y = tf.concat(inputs.map((part, i) => dense(part, filters[i])), 3);
  }
  if (bv) y = tf.add(y, tensorOf(tf, bv));
  return [channelsFirst(y, x.rank)];
};

export const LAYER_OPS: Record<string, Op> = {
  Gemm: (tf, n, [a, b, c]) => {
    const transA = intAttr(n, 'transA', 0) === 1, transB = intAttr(n, 'transB', 0) === 1;
    let y = b instanceof Factored
      ? b.times(tf, transA ? tensorOf(tf, a).transpose() : tensorOf(tf, a), transB)
      : tf.matMul(tensorOf(tf, a), tensorOf(tf, b), transA, transB);
    const alpha = floatAttr(n, 'alpha', 1), beta = floatAttr(n, 'beta', 1);
    if (alpha !== 1) y = tf.mul(y, alpha);
    if (c) y = tf.add(y, beta === 1 ? tensorOf(tf, c) : tf.mul(tensorOf(tf, c), beta));
    return [y];
  },
  MatMul: (tf, _n, [av, bv]) => {
    const a = tensorOf(tf, av);
    const b = bv instanceof Factored ? bv : tensorOf(tf, bv);
    const times = (rows: TfTensor): TfTensor => (b instanceof Factored ? b.times(tf, rows, false) : tf.matMul(rows, b));
    // A batch of rows times one matrix: as one 2-D product.
    if (a.rank > 2 && (b instanceof Factored || b.rank === 2)) {
      const y = times(a.reshape([-1, a.shape[a.rank - 1]!]));
      return [y.reshape([...a.shape.slice(0, -1), y.shape[1]!])];
    }
    return [times(a)];
  },
  Conv: conv,
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: unary((tf, x) => tf.mean(x, [...Array(x.rank).keys()].slice(2), true)),
  GlobalMaxPool: unary((tf, x) => tf.max(x, [...Array(x.rank).keys()].slice(2), true)),
  BatchNormalization: (tf, n, [x, scale, bias, mean, variance]) => {
    const t = tensorOf(tf, x);
    const per = (v: Value | undefined): TfTensor => tensorOf(tf, v).reshape([t.shape[1], ...Array(t.rank - 2).fill(1)]);
    const inv = tf.mul(per(scale), tf.rsqrt(tf.add(per(variance), floatAttr(n, 'epsilon', 1e-5))));
    return [tf.add(tf.mul(tf.sub(t, per(mean)), inv), per(bias))];
  },
};
