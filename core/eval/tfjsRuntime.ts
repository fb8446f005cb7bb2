// Runs TF.js models with stock @tensorflow/tfjs (wasm backend, cpu fallback), loading them
// with tf.loadLayersModel / tf.loadGraphModel from the same artifacts the file:// and http
// loaders build, exactly as an application would.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { GraphModel, io, LayersModel } from '@tensorflow/tfjs';
import type { Tensor } from './tensor.js';

type Tf = typeof import('@tensorflow/tfjs');
let tfReady: Promise<Tf> | undefined;

/** Loads tfjs lazily: it is large and only evaluation needs it. */
export function tfjs(): Promise<Tf> {
  tfReady ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-wasm');
    // The wasm backend is several times faster than cpu; fall back silently if it cannot start.
    if (!(await tf.setBackend('wasm').catch(() => false))) await tf.setBackend('cpu');
    await tf.ready();
    return tf;
  })();
  return tfReady;
}

/** An IOHandler for `model.json` and its shards on disk. */
async function fileHandler(path: string): Promise<io.IOHandler> {
  const tf = await tfjs();
  const json = JSON.parse(await readFile(path, 'utf8')) as io.ModelJSON;
  const load = async (manifest: io.WeightsManifestConfig): Promise<[io.WeightsManifestEntry[], ArrayBuffer]> => {
    const specs = manifest.flatMap((group) => group.weights);
    const buffers = await Promise.all(manifest.flatMap((group) => group.paths.map((p) => readFile(join(dirname(path), p)))));
    const data = new Uint8Array(buffers.reduce((s, b) => s + b.length, 0));
    let off = 0;
    for (const b of buffers) { data.set(b, off); off += b.length; }
    return [specs, data.buffer];
  };
  return { load: () => tf.io.getModelArtifactsForJSON(json, load) };
}

export async function loadTfjsLayersModel(path: string): Promise<LayersModel> {
  const tf = await tfjs();
  return tf.loadLayersModel(await fileHandler(path));
}

export async function loadTfjsGraphModel(path: string): Promise<GraphModel> {
  const tf = await tfjs();
  return tf.loadGraphModel(await fileHandler(path));
}

export async function tfjsInputShape(path: string): Promise<(number | null)[]> {
  return inputShape(await loadTfjsLayersModel(path));
}

export async function runTfjs(path: string, input: Tensor): Promise<Tensor> {
  return predict(await loadTfjsLayersModel(path), input);
}

/** The model's first input shape; disposes the model. */
export function inputShape(model: LayersModel): (number | null)[] {
  const shape = model.inputs[0].shape;
  model.dispose();
  return shape;
}

/** Runs the model on `input`; disposes the model. */
export async function predict(model: LayersModel, input: Tensor): Promise<Tensor> {
  const tf = await tfjs();
  try {
    const x = tf.tensor(input.data, input.shape);
    const y = model.predict(x, { batchSize: 512 }) as import('@tensorflow/tfjs').Tensor;
    const out = { data: (await y.data()) as Float32Array, shape: y.shape };
    x.dispose(); y.dispose();
    return out;
  } finally {
    model.dispose();
  }
}

/** The graph model's first input shape, unknown dimensions as null. */
export async function tfjsGraphInputShape(path: string): Promise<(number | null)[]> {
  const model = await loadTfjsGraphModel(path);
  try {
    return (model.inputs[0]?.shape ?? []).map((d) => (d >= 0 ? d : null));
  } finally {
    model.dispose();
  }
}

/** Graph models run whole batches at once; inputs are fed in chunks so memory stays bounded. */
const GRAPH_CHUNK = 512;

/** Feeds `input` to the graph model's first input (in its dtype) and returns its first output. */
export async function runTfjsGraph(path: string, input: Tensor): Promise<Tensor> {
  const tf = await tfjs();
  const model = await loadTfjsGraphModel(path);
  try {
    const n = input.shape[0];
    const per = input.data.length / n;
    const dtype = model.inputs[0]?.dtype === 'int32' ? 'int32' : 'float32';
    const parts: Float32Array[] = [];
    let rows = 0, shape: number[] = [];
    for (let start = 0; start < n; start += GRAPH_CHUNK) {
      const end = Math.min(n, start + GRAPH_CHUNK);
      const x = tf.tensor(input.data.subarray(start * per, end * per), [end - start, ...input.shape.slice(1)], dtype);
      const out = await execute(model, x);
      const y = Array.isArray(out) ? out[0] : out;
      parts.push(Float32Array.from(await y.data()));
      rows += y.shape[0] ?? 1;
      shape = y.shape;
      tf.dispose([x, out]);
    }
    const data = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let off = 0;
    for (const p of parts) { data.set(p, off); off += p.length; }
    return { data, shape: parts.length === 1 ? shape : [rows, ...shape.slice(1)] };
  } finally {
    model.dispose();
  }
}

/** execute() runs static graphs; control flow or dynamic shapes need executeAsync (which warns on static ones). */
async function execute(model: GraphModel, x: import('@tensorflow/tfjs').Tensor): Promise<import('@tensorflow/tfjs').Tensor | import('@tensorflow/tfjs').Tensor[]> {
  try {
    return model.execute(x);
  } catch (e) {
    if (!/executeAsync/.test((e as Error).message)) throw e;
    return model.executeAsync(x);
  }
}
