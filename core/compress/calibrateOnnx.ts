// Streaming input statistics of the MatMul / Gemm layers of an ONNX model on calibration
// inputs, collected with onnxruntime: each layer node's activation input (input 0) becomes an
// extra output of an in-memory copy of the model, which runs batch by batch; C = XᵀX / N is
// summed in f64. Inputs of rank > 2 count every leading position as a sample (a MatMul over
// [batch, seq, d] sees batch·seq rows); Gemm with transA=1 receives its input feature-major.
// Convs are left to plain SVD (their input statistics would be over patches, not values).
import type { Tensor } from '../eval/tensor.js';
import { OnnxSession } from '../eval/onnxRuntime.js';
import { GRAPH_FIELD, intAttr, type OnnxGraph } from '../formats/onnx.js';
import { withOutputs } from '../formats/onnxProbe.js';
import type { StoredModel } from '../formats/storedModel.js';
import { InputError, throwIfAborted, type JobOptions, type Layer } from '../types.js';
import { MomentAccumulator, type InputMoments } from './moments.js';

/** A value whose statistics some layers need, and how its samples are laid out. */
interface Tap { value: string; featureMajor: boolean; dim: number; layers: Layer[]; acc: MomentAccumulator }

export async function onnxInputMoments(model: StoredModel, x: Tensor, opts: JobOptions = {}, batch = 256): Promise<Map<string, InputMoments>> {
  const taps = layerTaps(model);
  if (!taps.length) return new Map();
  const g = model.extra as OnnxGraph;
  const graphInputs = new Set(g.entries.filter((e) => e.range.field === GRAPH_FIELD.input).map((e) => e.name));
  // A graph input is fed, not fetched.
  const fetched = taps.map((t) => t.value).filter((v) => !graphInputs.has(v));
  const session = await OnnxSession.open(model.path, await withOutputs(model, fetched));
  try {
    if (session.inputCount !== 1) throw new InputError(model.path, `whitening feeds the calibration inputs to one model input; this model has ${session.inputCount}`);
    const input = session.inputName;
    // Models exported with a fixed batch size (often 1) are run in chunks of that size.
    const fixed = session.inputShape[0];
    const n = x.shape[0];
    if (fixed > 0) {
      if (n % fixed !== 0) throw new InputError(model.path, `model takes batches of ${fixed}; ${n} calibration inputs do not divide evenly`);
      batch = fixed;
    }
    const per = x.data.length / n;
    for (let start = 0; start < n; start += batch) {
      throwIfAborted(opts.signal);
      const end = Math.min(n, start + batch);
      const xb: Tensor = { data: x.data.subarray(start * per, end * per), shape: [end - start, ...x.shape.slice(1)] };
      let outs: Map<string, Tensor>;
      try {
        outs = await session.run(xb, fetched);
      } catch (e) {
        throw new InputError(model.path, `onnxruntime cannot run the model on the calibration inputs (${(e as Error).message.split('\n')[0]})`);
      }
      for (const t of taps) {
        const v = t.value === input ? xb : outs.get(t.value);
        if (!v) throw new InputError(model.path, `layer ${t.layers[0].name} multiplies ${t.value}, a graph input the calibration inputs do not feed`);
        const width = t.featureMajor ? v.shape[0] : v.shape.at(-1);
        if (width !== t.dim) throw new InputError(model.path, `layer ${t.layers[0].name} receives ${t.value} of shape [${v.shape.join(', ')}], not ${t.dim} features`);
        t.acc.addSamples(v.data, t.featureMajor);
      }
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

/** Factorisable MatMul / Gemm layers grouped by the value they multiply (Q, K, V projections share one). */
function layerTaps(model: StoredModel): Tap[] {
  const g = model.extra as OnnxGraph;
  const taps = new Map<string, Tap>();
  for (const layer of model.layers) {
    if (!layer.factorisable || (layer.kind !== 'matmul' && layer.kind !== 'gemm')) continue;
    const node = g.entries[g.layerNodes.get(layer.name)!].node!;
    const value = node.input[0];
    const featureMajor = layer.kind === 'gemm' && intAttr(node, 'transA', 0) === 1;
    const key = `${featureMajor ? 'T' : 'N'}:${value}`;
    const tap = taps.get(key) ?? { value, featureMajor, dim: layer.matrix.rows, layers: [], acc: new MomentAccumulator(layer.matrix.rows) };
    tap.layers.push(layer);
    taps.set(key, tap);
  }
  return [...taps.values()];
}
