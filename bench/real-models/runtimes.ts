// The stock runtime each bench model runs in, behind one shape: every batch of test inputs in,
// the model's outputs for it out. ONNX files run in onnxruntime-node; TF.js graph models in
// @tensorflow/tfjs through the product's own loader (graphRuntime.ts: the backend that computes
// that graph right), fetching the named outputs, since a graph's first output need not be the
// one a task scores.
import { OnnxSession } from '../../core/formats/onnx/runtime.js';
import { executeGraph, withGraphModel } from '../../core/formats/tfjs/graphRuntime.js';
import { tfjs } from '../../core/formats/tfjs/runtime.js';
import type { Tensor } from '../../core/eval/tensor.js';

/** Runs the model at `path` on each batch, handing `each` its outputs (in the runtime's order, or as named). */
export type RunAll = (path: string, batches: Iterable<Tensor>, each: (outputs: Tensor[]) => void) => Promise<void>;

export const onnxRuntime: RunAll = async (path, batches, each) => {
  const s = await OnnxSession.open(path);
  try {
    for (const x of batches) each([...(await s.run(x)).values()]);
  } finally {
    await s.release();
  }
};

/** A TF.js graph model, its outputs `outputs` (node names) fetched in that order. */
export const tfjsGraphRuntime = (outputs: string[]): RunAll => (path, batches, each) =>
  withGraphModel(path, async (model) => {
    const tf = await tfjs();
    for (const x of batches) {
      const input = tf.tensor(x.data, x.shape);
      const out = await executeGraph(model, input, outputs);
      const list = Array.isArray(out) ? out : [out];
      each(await Promise.all(list.map(async (t) => ({ data: (await t.data()) as Float32Array, shape: t.shape }))));
      tf.dispose([input, ...list]);
    }
  });
