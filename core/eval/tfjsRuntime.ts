// Runs a TF.js layers model with stock @tensorflow/tfjs (wasm backend, cpu fallback),
// loading it with tf.loadLayersModel exactly as an application would.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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

export async function loadTfjsLayersModel(path: string): Promise<import('@tensorflow/tfjs').LayersModel> {
  const tf = await tfjs();
  const json = JSON.parse(await readFile(path, 'utf8'));
  const specs = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(await readFile(join(dirname(path), p)));
  }
  const total = buffers.reduce((s, b) => s + b.length, 0);
  const data = new Uint8Array(total);
  let off = 0;
  for (const b of buffers) { data.set(b, off); off += b.length; }
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: data.buffer }));
}

export async function tfjsInputShape(path: string): Promise<(number | null)[]> {
  return inputShape(await loadTfjsLayersModel(path));
}

export async function runTfjs(path: string, input: Tensor): Promise<Tensor> {
  return predict(await loadTfjsLayersModel(path), input);
}

/** The model's first input shape; disposes the model. */
export function inputShape(model: import('@tensorflow/tfjs').LayersModel): (number | null)[] {
  const shape = model.inputs[0].shape;
  model.dispose();
  return shape;
}

/** Runs the model on `input`; disposes the model. */
export async function predict(model: import('@tensorflow/tfjs').LayersModel, input: Tensor): Promise<Tensor> {
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
