// Streaming input statistics of the MatMul / Gemm layers of an ONNX model on calibration
// inputs, collected with onnxruntime: each layer node's activation input (input 0) becomes an
// extra output of an in-memory copy of the model, which runs batch by batch; C = XᵀX / N is
// summed in f64. Inputs of rank > 2 count every leading position as a sample (a MatMul over
// [batch, seq, d] sees batch·seq rows); Gemm with transA=1 receives its input feature-major.
// A 2-D Conv's samples are its input patches (patches.ts), in the (cin, kh, kw)
// order of its filter; grouped, 1-D, 3-D and SAME_LOWER convolutions keep plain SVD.
import { fixedBatch, type Tensor } from '../../eval/tensor.js';
import { OnnxSession } from './runtime.js';
import { GRAPH_FIELD, intAttr, onnxWindow, type OnnxModel } from './read.js';
import type { NodeMessage } from './schema.js';
import { withOutputs } from './probe.js';
import { InputError, checkpoint, type JobOptions, type Layer } from '../../types.js';
import { MOMENT_BATCH_BYTES, MomentAccumulator, type InputMoments } from '../../compress/moments.js';
import { nchwPatchColumns, type ConvGeometry, type ExplicitPadding } from '../../compress/patches.js';

/**
 * A value whose statistics some layers need, and how its samples are laid out: rows of `dim`
 * features (feature-major for Gemm transA=1), or for a Conv the patches its geometry cuts.
 */
interface Tap { value: string; featureMajor: boolean; dim: number; layers: Layer[]; acc: MomentAccumulator; conv?: { cin: number; geometry: ConvGeometry } }

/** A 2-D Conv's geometry on the NHWC view of its input, or undefined where patches cannot reproduce it. */
function convGeometry(node: NodeMessage, kernel: number[]): ConvGeometry | undefined {
  const w = onnxWindow(node, 2);
  if (!w) return undefined;
  const padding = typeof w.padding === 'string' ? w.padding : [[0, 0], ...w.padding, [0, 0]] as ExplicitPadding;
  return { kernel, strides: w.strides, dilation: w.dilations, padding };
}

export async function onnxInputMoments(model: OnnxModel, x: Tensor, opts: JobOptions = {}, maxBatch = 256): Promise<Map<string, InputMoments>> {
  const taps = layerTaps(model);
  if (!taps.length) return new Map();
  const g = model.extra;
  const graphInputs = new Set(g.entries.filter((e) => e.range.field === GRAPH_FIELD.input).map((e) => e.name));
  // A graph input is fed, not fetched.
  const fetched = taps.map((t) => t.value).filter((v) => !graphInputs.has(v));
  const session = await OnnxSession.open(model.path, await withOutputs(model, fetched));
  try {
    if (session.inputCount !== 1) throw new InputError(model.path, `whitening feeds the calibration inputs to one model input; this model has ${session.inputCount}`);
    const input = session.inputName;
    // Models exported with a fixed batch size (often 1) are run in chunks of that size; others
    // start with one input, whose fetched bytes size the batches after it (MOMENT_BATCH_BYTES).
    const n = x.shape[0];
    const fixed = fixedBatch(model.path, session.inputShape[0], n);
    let batch = fixed ?? 1;
    const per = x.data.length / n;
    let bytesPerInput = 1;
    for (let start = 0; start < n; start += batch) {
      if (fixed === undefined && start === 1) batch = Math.max(1, Math.min(maxBatch, Math.floor(MOMENT_BATCH_BYTES / bytesPerInput)));
      await checkpoint(opts.signal);
      const end = Math.min(n, start + batch);
      const xb: Tensor = { data: x.data.subarray(start * per, end * per), shape: [end - start, ...x.shape.slice(1)] };
      let outs: Map<string, Tensor>;
      try {
        outs = await session.run(xb, fetched);
      } catch (e) {
        throw new InputError(model.path, `onnxruntime cannot run the model on the calibration inputs (${(e as Error).message.split('\n')[0]})`);
      }
      let bytes = 0;
      for (const t of taps) {
        const v = t.value === input ? xb : outs.get(t.value);
        if (!v) throw new InputError(model.path, `layer ${t.layers[0].name} multiplies ${t.value}, a graph input the calibration inputs do not feed`);
        bytes += v.data.byteLength;
        if (t.conv) {
          const columns = patches(t, v, model.path);
          bytes += columns.byteLength;
          await t.acc.addSamplesAsync(columns, true, opts.signal);
          continue;
        }
        const width = t.featureMajor ? v.shape[0] : v.shape.at(-1);
        if (width !== t.dim) throw new InputError(model.path, `layer ${t.layers[0].name} receives ${t.value} of shape [${v.shape.join(', ')}], not ${t.dim} features`);
        await t.acc.addSamplesAsync(v.data, t.featureMajor, opts.signal);
      }
      bytesPerInput = Math.max(1, bytes / (end - start));
      opts.progress?.report(end / n, 'calibration statistics');
    }
  } finally {
    await session.release();
  }
  return new Map(taps.flatMap((t) => {
    const m = t.acc.moments();
    return t.layers.map((l) => [l.name, m] as const);
  }));
}

/** Factorisable MatMul / Gemm layers grouped by the value they multiply (Q, K, V projections share one); a tap per 2-D Conv. */
function layerTaps(model: OnnxModel): Tap[] {
  const g = model.extra;
  const taps = new Map<string, Tap>();
  for (const layer of model.layers) {
    if (!layer.factorisable || !['matmul', 'gemm', 'conv2d'].includes(layer.kind)) continue;
    const node = g.entries[g.layerNodes.get(layer.name)!].node!;
    const value = node.input[0];
    if (layer.kind === 'conv2d') {
      // W is [cout, cin, kh, kw].
      const geometry = convGeometry(node, layer.shape.slice(2));
      if (geometry) taps.set(`C:${layer.name}`, { value, featureMajor: false, dim: layer.matrix.rows, layers: [layer], acc: new MomentAccumulator(layer.matrix.rows), conv: { cin: layer.shape[1], geometry } });
      continue;
    }
    const featureMajor = layer.kind === 'gemm' && intAttr(node, 'transA', 0) === 1;
    const key = `${featureMajor ? 'T' : 'N'}:${value}`;
    const tap = taps.get(key) ?? { value, featureMajor, dim: layer.matrix.rows, layers: [], acc: new MomentAccumulator(layer.matrix.rows) };
    tap.layers.push(layer);
    taps.set(key, tap);
  }
  return [...taps.values()];
}

/** A Conv's input batch [n, cin, h, w] as its patches, feature-major, in the filter's (cin, kh, kw) order. */
function patches(tap: Tap, v: Tensor, path: string): Float32Array {
  const { cin, geometry } = tap.conv!;
  if (v.shape.length !== 4 || v.shape[1] !== cin) throw new InputError(path, `layer ${tap.layers[0].name} receives ${tap.value} of shape [${v.shape.join(', ')}], not NCHW with ${cin} channels`);
  return nchwPatchColumns(v.data, v.shape, geometry);
}
