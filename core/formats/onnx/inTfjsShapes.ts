// The operators of an ONNX graph run in TF.js (inTfjs.ts) that pass, reshape, pick or pad
// values rather than compute them, including the integer shape arithmetic that PyTorch
// exports around a flatten (Shape → Gather → Unsqueeze → Concat → Reshape), run on the host.
import { intAttr, intsAttr, stringAttr } from './read.js';
import { int64, type NodeMessage } from './schema.js';
import { axesOf, axisOf, floatAttr, Host, hostOf, size, tensorOf, unary, type Op, type Value } from './inTfjsValues.js';

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

export const SHAPE_OPS: Record<string, Op> = {
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
};
