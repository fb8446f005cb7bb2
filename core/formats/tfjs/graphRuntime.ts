// Runs TF.js graph models with stock @tensorflow/tfjs: tf.loadGraphModel on the model's own
// files, the first input fed, every output read.
import type { GraphModel, io, Tensor as TfTensor } from '@tensorflow/tfjs';
import type { GraphNode } from './read.js';
import { fixedBatch, mapChunks, type Tensor } from '../../eval/tensor.js';
import { tfjs, tfjsFiles } from './runtime.js';
import type { LoadedModel } from '../format.js';

/** Graph models run whole batches at once; inputs are fed in chunks so memory stays bounded. */
const GRAPH_CHUNK = 512;

/**
 * tfjs-backend-wasm 4.22 computes _FusedMatMul wrong when an operand is transposed and a bias
 * or activation is fused (plain ops agree with the cpu backend); such graphs run on cpu.
 */
function wasmMiscomputes(json: io.ModelJSON): boolean {
  const nodes = (json.modelTopology as { node?: GraphNode[] } | undefined)?.node ?? [];
  return nodes.some((n) => n.op === '_FusedMatMul' && (n.attr?.transpose_a?.b === true || n.attr?.transpose_b?.b === true));
}

/** Runs `f` on a backend that computes the graph right: cpu, from wasm, where wasmMiscomputes; the backend before it after. */
async function onRightBackend<T>(json: io.ModelJSON, f: () => Promise<T>): Promise<T> {
  const tf = await tfjs();
  const previous = tf.getBackend();
  const switched = previous === 'wasm' && wasmMiscomputes(json) && await tf.setBackend('cpu');
  try {
    return await f();
  } finally {
    if (switched) await tf.setBackend(previous);
  }
}

/** Loads the graph model on a backend that computes it right, runs `use`, disposes it. */
export async function withGraphModel<T>(path: string, use: (model: GraphModel) => Promise<T>): Promise<T> {
  const tf = await tfjs();
  const { json, handler } = await tfjsFiles(path);
  return onRightBackend(json, async () => {
    const model = await tf.loadGraphModel(handler);
    try {
      return await use(model);
    } finally {
      model.dispose();
    }
  });
}

/**
 * The graph model loaded once and run as often as asked (the written-variant runner feeds it
 * its inputs in pieces): every run switches to the backend that computes it right, as its load
 * did, so its weights stay on that backend.
 */
export async function loadTfjsGraph(path: string): Promise<LoadedModel> {
  const tf = await tfjs();
  const { json, handler } = await tfjsFiles(path);
  const model = await onRightBackend(json, () => tf.loadGraphModel(handler));
  return {
    inputShape: (model.inputs[0]?.shape ?? []).map((d) => (d >= 0 ? d : null)),
    run: (x) => onRightBackend(json, () => runOutputs(model, path, x)),
    dispose: async () => model.dispose(),
  };
}

/**
 * Feeds `input` to the graph model's first input (in its dtype), GRAPH_CHUNK rows at a time or
 * its fixed batch size, and returns every output, in the signature's order.
 */
export function runTfjsGraphOutputs(path: string, input: Tensor): Promise<Tensor[]> {
  return withGraphModel(path, (model) => runOutputs(model, path, input));
}

async function runOutputs(model: GraphModel, path: string, input: Tensor): Promise<Tensor[]> {
  const tf = await tfjs();
  const dtype = model.inputs[0]?.dtype === 'int32' ? 'int32' : 'float32';
  return mapChunks(input, fixedBatch(path, model.inputs[0]?.shape?.[0], input.shape[0]) ?? GRAPH_CHUNK, async (chunk) => {
    const x = tf.tensor(chunk.data, chunk.shape, dtype);
    const out = [await executeGraph(model, x)].flat();
    const result = await Promise.all(out.map(async (y) => ({ data: float32(await y.data()), shape: y.shape })));
    tf.dispose([x, ...out]);
    return result;
  });
}

/** `data()` as an f32 array of its own: copied whole (Float32Array.from walked it value by value). */
function float32(d: Awaited<ReturnType<TfTensor['data']>>): Float32Array {
  return d instanceof Float32Array ? d.slice() : Float32Array.from(d as ArrayLike<number>);
}

/** The graph model's first output on `input` (runTfjsGraphOutputs). */
export async function runTfjsGraph(path: string, input: Tensor): Promise<Tensor> {
  return (await runTfjsGraphOutputs(path, input))[0];
}

/**
 * The model's outputs, or the named node outputs (`name` or `name:i`). execute() runs static
 * graphs; control flow or dynamic shapes need executeAsync (which warns on static ones).
 */
export async function executeGraph(model: GraphModel, x: TfTensor, outputs?: string[]): Promise<TfTensor | TfTensor[]> {
  try {
    return model.execute(x, outputs);
  } catch (e) {
    if (!/executeAsync/.test((e as Error).message)) throw e;
    return model.executeAsync(x, outputs);
  }
}
