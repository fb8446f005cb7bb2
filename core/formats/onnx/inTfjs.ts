// Runs an ONNX graph in TF.js, operator by operator, so that its weights can be TF.js variables
// and the graph trained (finetuneOnnx.ts). onnxruntime stays the reference for what the file
// computes; a test checks that both agree on PyTorch exports and hand-built graphs. The
// operators are those feed-forward MLPs and CNNs are exported with; a graph using any other is
// refused up front, naming it. Integer tensors (shapes and indices, e.g. PyTorch's flatten as
// Shape → Gather → Unsqueeze → Concat → Reshape) are computed on the host as plain arrays, as
// shape inference would, since the batch size is known when the graph runs.
import { FileSource } from '../../io/byteSource.js';
import { GRAPH_FIELD, initializerNames, intAttr, intsAttr, isDefaultDomain, onnxWindow, stringAttr, type OnnxGraph } from './read.js';
import { int64, NodeProto, type NodeMessage } from './schema.js';
import type { StoredModel } from '../storedModel.js';
import { InputError } from '../../types.js';

type Tf = typeof import('@tensorflow/tfjs');
type TfTensor = import('@tensorflow/tfjs').Tensor;
type Tensor4D = import('@tensorflow/tfjs').Tensor4D;

/** An integer tensor kept on the host. */
class Host {
  constructor(readonly dims: number[], readonly data: number[]) {}
  static of(values: number[]): Host { return new Host([values.length], values); }
}
type Value = TfTensor | Host;

/** Where the graph's weights come from when it runs: the stored values, or a trainer's variables. */
export type Weights = (name: string) => TfTensor;

export interface OnnxProgram {
  /** The graph's (first) input and output. */
  input: string;
  output: string;
  /** The value a final Softmax (or LogSoftmax) turns into the output, where there is one: a softmax classifier's logits. */
  logits?: string;
  /** Names of the float tensors (initializers and Constant nodes) the graph reads, as the model lists them. */
  weights: string[];
  /** Runs the graph on `x` up to `until` (default: the output) inside the caller's tidy scope or tape. */
  run(tf: Tf, x: TfTensor, weights: Weights, until?: string): TfTensor;
  /** The graph split where the stored tensors named `trained` start to matter (see TrainedPart). */
  split(trained: ReadonlySet<string>): TrainedPart;
}

/**
 * The part of a graph that training changes. `frontier`: the values computed from the input
 * without any trained tensor that the rest reads (for a CNN whose convolutions stay frozen,
 * the flattened features the dense layers take); `run` computes from them alone. Their values
 * do not change while training, so a trainer can compute them once per input instead of once
 * per step.
 */
export interface TrainedPart {
  frontier: string[];
  /** The frontier's values for `x`, in its order; undefined where one is an integer (e.g. a shape that follows the batch size). */
  frontierValues(tf: Tf, x: TfTensor, weights: Weights): TfTensor[] | undefined;
  run(tf: Tf, given: ReadonlyMap<string, TfTensor>, weights: Weights, until?: string): TfTensor;
}

type Op = (tf: Tf, n: NodeMessage, inputs: (Value | undefined)[], opset: number) => Value[];

const FLOAT = new Set(['float32', 'float16', 'bfloat16', 'float64']);
/** Integer tensors larger than this are not shape arithmetic: they are not held on the host, and a node reading one is refused when it runs. */
const MAX_HOST = 1 << 16;

export async function onnxProgram(model: StoredModel): Promise<OnnxProgram> {
  const g = model.extra as OnnxGraph;
  const path = model.path;
  const nodes = await readNodes(model.path, g);
  const initializers = initializerNames(g);
  const input = g.entries.find((e) => e.range.field === GRAPH_FIELD.input && e.name && !initializers.has(e.name))?.name;
  const output = g.entries.find((e) => e.range.field === GRAPH_FIELD.output && e.name)?.name;
  if (!input || !output) throw new InputError(path, 'the graph declares no input or no output');
  for (const n of nodes) {
    if (!isDefaultDomain(n) || !OPS[n.opType]) {
      throw new InputError(path, `fine-tuning runs the graph in TF.js, which here covers ${Object.keys(OPS).length} common operators, not ${n.domain ? `${n.domain}.` : ''}${n.opType} (node ${n.name || n.output[0]})`);
    }
  }
  // Stored tensors: float ones are weights, fetched when the graph runs; integer ones are host values.
  const host = new Map<string, Host>();
  const weights: string[] = [];
  for (const t of model.tensors) {
    if (FLOAT.has(t.dtype)) { weights.push(t.name); continue; }
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count > MAX_HOST) continue;
    host.set(t.name, new Host(t.shape, Array.from(await model.readTensor(t.name))));
  }
  const last = nodes.find((n) => n.output.includes(output));
  const logits = (last?.opType === 'Softmax' || last?.opType === 'LogSoftmax') && nodes.filter((n) => n.input.includes(last.input[0])).length === 1 ? last.input[0] : undefined;
  const weightSet = new Set(weights);
  return {
    input, output, logits, weights,
    run: (tf, x, weightOf, until = output) => floatValue(execute(tf, new Map([[input, x]]), weightOf, [until], () => true), until),
    split(trained) {
      // A value depends on the input, or on a trained weight, if a node computing it reads one that does.
      const fromInput = new Set([input]), fromTrained = new Set(trained);
      const reads = (n: NodeMessage, set: Set<string>): boolean => n.input.some((i) => set.has(i));
      const live = new Set<NodeMessage>();
      for (const n of nodes) {
        if (reads(n, fromTrained)) { live.add(n); n.output.forEach((o) => fromTrained.add(o)); } else if (reads(n, fromInput)) n.output.forEach((o) => fromInput.add(o));
      }
      const frontier = [...new Set([...live].flatMap((n) => n.input.filter((i) => fromInput.has(i) && !fromTrained.has(i))))];
      // Nodes of neither kind (constants, arithmetic on stored tensors) run every time: they are cheap.
      const runs = (n: NodeMessage): boolean => live.has(n) || !reads(n, fromInput);
      return {
        frontier,
        frontierValues(tf, x, weightOf) {
          const values = execute(tf, new Map([[input, x]]), weightOf, frontier, (n) => !live.has(n));
          const picked = frontier.map((name) => values.get(name));
          return picked.every((v) => v && !(v instanceof Host)) ? picked as TfTensor[] : undefined;
        },
        run: (tf, given, weightOf, until = output) => floatValue(execute(tf, new Map(given), weightOf, [until], runs), until),
      };
    },
  };

  /** Runs the nodes `runs` picks, in order, until every value in `until` is computed; returns every value computed. */
  function execute(tf: Tf, values: Map<string, Value>, weightOf: Weights, until: string[], runs: (n: NodeMessage) => boolean): Map<string, Value> {
    const get = (name: string): Value | undefined => {
      if (!name) return undefined;
      const v = values.get(name) ?? host.get(name) ?? (weightSet.has(name) ? weightOf(name) : undefined);
      if (v === undefined) throw new InputError(path, `value ${name} is used before it is computed (the graph is not in topological order, or reads a tensor of a type TF.js does not run)`);
      return v;
    };
    const pending = new Set(until.filter((name) => !values.has(name)));
    for (const n of nodes) {
      if (!pending.size) break;
      if (!runs(n) || (n.opType === 'Constant' && n.output.every((o) => weightSet.has(o) || host.has(o)))) continue;
      let outs: Value[];
      try {
        outs = OPS[n.opType](tf, n, n.input.map(get), g.opset);
      } catch (e) {
        if (e instanceof InputError) throw e;
        throw new InputError(path, `cannot run node ${n.name || n.output[0]} (${n.opType}) in TF.js: ${(e as Error).message.split('\n')[0]}`);
      }
      outs.forEach((v, i) => { if (n.output[i]) { values.set(n.output[i], v); pending.delete(n.output[i]); } });
    }
    return values;
  }

  function floatValue(values: Map<string, Value>, name: string): TfTensor {
    const out = values.get(name);
    if (!out || out instanceof Host) throw new InputError(path, `the graph computes no float value ${name} (integer values such as shapes are not outputs here)`);
    return out;
  }
}

/** The graph's nodes in file order, decoded whole (the reader keeps attributes of layer nodes only). */
async function readNodes(path: string, g: OnnxGraph): Promise<NodeMessage[]> {
  const src = await FileSource.open(path);
  try {
    const out: NodeMessage[] = [];
    for (const e of g.entries) {
      if (!e.node) continue;
      const r = e.range;
      out.push(NodeProto.decode(await src.read(r.dataStart, r.end - r.dataStart)) as unknown as NodeMessage);
    }
    return out;
  } finally {
    await src.close();
  }
}

const floatAttr = (n: NodeMessage, name: string, fallback: number): number => n.attribute.find((a) => a.name === name)?.f ?? fallback;

function tensorOf(tf: Tf, v: Value | undefined): TfTensor {
  if (v === undefined) throw new Error('a required input is missing');
  return v instanceof Host ? tf.tensor(v.data, v.dims, 'float32') : v;
}
function hostOf(v: Value | undefined, what: string): Host {
  if (!(v instanceof Host)) throw new Error(`${what} must be a constant integer tensor`);
  return v;
}
const size = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);
const axisOf = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

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
const unary = (f: (tf: Tf, x: TfTensor, n: NodeMessage) => TfTensor): Op => (tf, n, [x]) => [f(tf, tensorOf(tf, x), n)];

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

/** Axes from the attribute (before opset 13) or the second input. */
function axesOf(n: NodeMessage, v: Value | undefined): number[] | undefined {
  return intsAttr(n, 'axes') ?? (v ? hostOf(v, 'axes').data : undefined);
}

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

/** Gathers host values along `axis` at host `indices` (shape arithmetic). */
function hostGather(data: Host, indices: Host, axis: number): Host {
  if (data.dims.length !== 1 || axis !== 0) throw new Error('integer Gather is supported on 1-D tensors only');
  return new Host(indices.dims, indices.data.map((i) => data.data[i < 0 ? i + data.data.length : i]));
}

/** Slice's starts, ends, axes and steps: attributes before opset 10, inputs since. */
function sliceArgs(n: NodeMessage, inputs: (Value | undefined)[], opset: number): { starts: number[]; ends: number[]; axes: number[]; steps: number[] } {
  const ints = (i: number, attr: string): number[] | undefined => (opset < 10 ? intsAttr(n, attr) : inputs[i] && hostOf(inputs[i], attr).data);
  const starts = ints(1, 'starts'), ends = ints(2, 'ends');
  if (!starts || !ends) throw new Error('Slice needs starts and ends');
  return { starts, ends, axes: ints(3, 'axes') ?? starts.map((_, i) => i), steps: ints(4, 'steps') ?? starts.map(() => 1) };
}

const OPS: Record<string, Op> = {
  Identity: (_tf, _n, [x]) => [x!],
  Dropout: (_tf, _n, [x]) => [x!],
  // Constant nodes whose tensor the reader took in are weights or host values; these are the rest.
  Constant: (tf, n) => {
    const v = n.attribute.find((a) => a.name === 'value_ints' || a.name === 'value_int');
    if (v?.ints) return [Host.of(v.ints.map((i) => int64(i)))];
    if (v?.i !== undefined && v.i !== null) return [new Host([], [int64(v.i)])];
    const f = n.attribute.find((a) => a.name === 'value_floats' || a.name === 'value_float');
    if (f?.floats) return [tf.tensor1d(f.floats)];
    if (f?.f !== undefined && f.f !== null) return [tf.scalar(f.f)];
    throw new Error('this Constant holds a type TF.js does not run');
  },
  Add: binary((tf, a, b) => tf.add(a, b), (a, b) => a + b),
  Sub: binary((tf, a, b) => tf.sub(a, b), (a, b) => a - b),
  Mul: binary((tf, a, b) => tf.mul(a, b), (a, b) => a * b),
  Div: binary((tf, a, b) => tf.div(a, b), (a, b) => Math.trunc(a / b)),
  Pow: binary((tf, a, b) => tf.pow(a, b), (a, b) => a ** b),
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
  Gemm: (tf, n, [a, b, c]) => {
    let y = tf.matMul(tensorOf(tf, a), tensorOf(tf, b), intAttr(n, 'transA', 0) === 1, intAttr(n, 'transB', 0) === 1);
    const alpha = floatAttr(n, 'alpha', 1), beta = floatAttr(n, 'beta', 1);
    if (alpha !== 1) y = tf.mul(y, alpha);
    if (c) y = tf.add(y, beta === 1 ? tensorOf(tf, c) : tf.mul(tensorOf(tf, c), beta));
    return [y];
  },
  MatMul: (tf, _n, [av, bv]) => {
    const a = tensorOf(tf, av), b = tensorOf(tf, bv);
    // A batch of rows times one matrix: as one 2-D product.
    if (a.rank > 2 && b.rank === 2) return [tf.matMul(a.reshape([-1, a.shape[a.rank - 1]!]), b).reshape([...a.shape.slice(0, -1), b.shape[1]!])];
    return [tf.matMul(a, b)];
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
  Flatten: unary((tf, x, n) => { const axis = axisOf(intAttr(n, 'axis', 1), x.rank); return x.reshape([size(x.shape.slice(0, axis)), size(x.shape.slice(axis))]); }),
  Reshape: (tf, n, [xv, sv]) => {
    const target = hostOf(sv, 'the target shape').data;
    const shapeOf = (dims: number[]): number[] => (intAttr(n, 'allowzero', 0) ? target : target.map((d, i) => (d === 0 ? dims[i] : d)));
    if (xv instanceof Host) return [new Host(shapeOf(xv.dims).map((d) => (d === -1 ? xv.data.length : d)), xv.data)];
    return [tensorOf(tf, xv).reshape(shapeOf(tensorOf(tf, xv).shape))];
  },
  Transpose: unary((tf, x, n) => x.transpose(intsAttr(n, 'perm'))),
  Squeeze: (tf, n, [x, axes]) => {
    const a = axesOf(n, axes);
    if (x instanceof Host) return [new Host(x.dims.filter((d, i) => (a ? !a.map((v) => axisOf(v, x.dims.length)).includes(i) : d !== 1)), x.data)];
    const t = tensorOf(tf, x);
    return [t.squeeze(a?.map((v) => axisOf(v, t.rank)))];
  },
  Unsqueeze: (tf, n, [x, axes]) => {
    const rank = (x instanceof Host ? x.dims.length : tensorOf(tf, x).rank);
    const a = axesOf(n, axes)!.map((v) => axisOf(v, rank + axesOf(n, axes)!.length)).sort((p, q) => p - q);
    const dims = [...(x instanceof Host ? x.dims : tensorOf(tf, x).shape)];
    for (const i of a) dims.splice(i, 0, 1);
    return [x instanceof Host ? new Host(dims, x.data) : tensorOf(tf, x).reshape(dims)];
  },
  Concat: (tf, n, inputs) => {
    const axis = intAttr(n, 'axis', 0);
    if (inputs.every((v) => v instanceof Host)) {
      const hs = inputs as Host[];
      if (hs.some((h) => h.dims.length !== 1)) throw new Error('integer Concat is supported on 1-D tensors only');
      return [Host.of(hs.flatMap((h) => h.data))];
    }
    const ts = inputs.map((v) => tensorOf(tf, v));
    return [tf.concat(ts, axisOf(axis, ts[0].rank))];
  },
  Shape: (tf, n, [x]) => {
    const dims = x instanceof Host ? x.dims : tensorOf(tf, x).shape;
    const start = axisOf(intAttr(n, 'start', 0), dims.length), end = axisOf(intAttr(n, 'end', dims.length), dims.length);
    return [Host.of(dims.slice(start, end))];
  },
  Gather: (tf, n, [x, iv]) => {
    const indices = hostOf(iv, 'Gather indices');
    const axis = intAttr(n, 'axis', 0);
    if (x instanceof Host) return [hostGather(x, indices, axis)];
    const t = tensorOf(tf, x), a = axisOf(axis, t.rank);
    const idx = indices.data.map((i) => (i < 0 ? i + t.shape[a] : i));
    const picked = tf.gather(t, tf.tensor1d(idx, 'int32'), a);
    return [indices.dims.length === 0 ? picked.squeeze([a]) : picked.reshape([...t.shape.slice(0, a), ...indices.dims, ...t.shape.slice(a + 1)])];
  },
  Slice: (tf, n, inputs, opset) => {
    const x = inputs[0];
    const { starts, ends, axes, steps } = sliceArgs(n, inputs, opset);
    if (steps.some((v) => v !== 1)) throw new Error('Slice with steps other than 1 is not supported');
    const dims = x instanceof Host ? x.dims : tensorOf(tf, x).shape;
    const begin = dims.map(() => 0), end = [...dims];
    axes.forEach((ax, i) => {
      const a = axisOf(ax, dims.length), dim = dims[a];
      const clamp = (v: number): number => Math.max(0, Math.min(dim, v < 0 ? v + dim : v));
      begin[a] = clamp(starts[i]); end[a] = clamp(ends[i]);
    });
    if (x instanceof Host) {
      if (dims.length !== 1) throw new Error('integer Slice is supported on 1-D tensors only');
      return [Host.of(x.data.slice(begin[0], end[0]))];
    }
    return [tf.slice(tensorOf(tf, x), begin, end.map((v, i) => v - begin[i]))];
  },
  Cast: (tf, n, [x]) => {
    const to = intAttr(n, 'to', 1);
    // ONNX element types 1, 10, 11, 16: the float types.
    const toFloat = [1, 10, 11, 16].includes(to);
    if (x instanceof Host) return [toFloat ? tensorOf(tf, x) : x];
    if (!toFloat) throw new Error('casting a float tensor to integers is not supported');
    return [x!];
  },
  Pad: (tf, n, [x, pv, cv], opset) => {
    if ((stringAttr(n, 'mode') ?? 'constant') !== 'constant') throw new Error(`pad mode ${stringAttr(n, 'mode')} is not supported`);
    const t = tensorOf(tf, x);
    const pads = opset < 11 ? intsAttr(n, 'pads') : hostOf(pv, 'pads').data;
    if (!pads || pads.length !== 2 * t.rank || pads.some((v) => v < 0)) throw new Error('pads must give a non-negative begin and end for every axis');
    const value = opset < 11 ? floatAttr(n, 'value', 0) : cv ? tensorOf(tf, cv).dataSync()[0] : 0;
    return [tf.pad(t, t.shape.map((_, i) => [pads[i], pads[i + t.rank]] as [number, number]), value)];
  },
  ReduceMean: (tf, n, [x, axes]) => {
    const t = tensorOf(tf, x);
    const a = axesOf(n, axes)?.map((v) => axisOf(v, t.rank));
    return [tf.mean(t, a, intAttr(n, 'keepdims', 1) === 1)];
  },
};
