// Runs TF.js layers models with stock @tensorflow/tfjs (wasm backend, cpu fallback), loading
// them with tf.loadLayersModel from the same artifacts the file:// and http loaders build,
// exactly as an application would. (Graph models: tfjs/graphRuntime.ts.)
import { dirname, join } from 'node:path';
import type { io, LayersModel } from '@tensorflow/tfjs';
import { fixedBatch } from '../../eval/tensor.js';
import { readRegularFile } from '../../io/byteSource.js';
import { fasterTrainingKernels } from './wasmKernels.js';
import { convolutionGradients } from './convGradKernels.js';
import type { LoadedModel } from '../format.js';

type Tf = typeof import('@tensorflow/tfjs');
let tfReady: Promise<Tf> | undefined;

/** Loads tfjs lazily: it is large and only evaluation needs it. */
export function tfjs(): Promise<Tf> {
  tfReady ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    // PROD only silences tfjs's console hints (the cpu backend's tfjs-node banner, execute
    // advice), which would otherwise land in the CLI's output.
    tf.env().set('PROD', true);
    await import('@tensorflow/tfjs-backend-wasm');
    // The wasm backend is several times faster than cpu; fall back silently if it cannot start.
    if (!(await tf.setBackend('wasm').catch(() => false))) await tf.setBackend('cpu');
    await tf.ready();
    if (tf.getBackend() === 'wasm') {
      fasterTrainingKernels(tf, 'wasm');
      convolutionGradients(tf, 'wasm');
    }
    return tf;
  })();
  return tfReady;
}

/** `model.json` as read, and an IOHandler for it and its shards on disk. */
export async function tfjsFiles(path: string): Promise<{ json: io.ModelJSON; handler: io.IOHandler }> {
  const tf = await tfjs();
  const json = JSON.parse(new TextDecoder().decode(await readRegularFile(path))) as io.ModelJSON;
  const load = async (manifest: io.WeightsManifestConfig): Promise<[io.WeightsManifestEntry[], ArrayBuffer]> => {
    const specs = manifest.flatMap((group) => group.weights);
    const buffers = await Promise.all(manifest.flatMap((group) => group.paths.map((p) => readRegularFile(join(dirname(path), p)))));
    const data = new Uint8Array(buffers.reduce((s, b) => s + b.length, 0));
    let off = 0;
    for (const b of buffers) { data.set(b, off); off += b.length; }
    return [specs, data.buffer];
  };
  return { json, handler: { load: () => tf.io.getModelArtifactsForJSON(json, load) } };
}

export async function loadTfjsLayersModel(path: string): Promise<LayersModel> {
  const tf = await tfjs();
  return tf.loadLayersModel((await tfjsFiles(path)).handler);
}

/** A layers model (loaded from `path`) as a LoadedModel: run 512 rows at a time or its fixed batch size. */
export function loadedLayers(path: string, model: LayersModel): LoadedModel {
  return {
    inputShape: model.inputs[0].shape,
    async run(input) {
      const tf = await tfjs();
      const x = tf.tensor(input.data, input.shape);
      const ys = [model.predict(x, { batchSize: fixedBatch(path, model.inputs[0].shape[0], input.shape[0]) ?? 512 })].flat();
      const out = await Promise.all(ys.map(async (y) => ({ data: (await y.data()) as Float32Array, shape: y.shape })));
      tf.dispose([x, ...ys]);
      return out;
    },
    dispose: async () => { model.dispose(); },
  };
}

export async function loadTfjsLayers(path: string): Promise<LoadedModel> {
  return loadedLayers(path, await loadTfjsLayersModel(path));
}
