// The model that the TF.js-run steps of a compression (whitening statistics, sensitivity, the
// refinement, the whitened/plain guard, fine-tuning) run: a TF.js layers model.json, or a Keras
// file built in TF.js the way `evaluate` runs it, with the topology its factorised forms are
// made of. A job reads the file once: every step gets a model of its own, built from the
// topology, whose weights share the first model's values until the step overwrites them (a
// Keras file would otherwise be re-read from HDF5 by each of up to five steps).
import type { LayersModel } from '@tensorflow/tfjs';
import { tfjs, tfjsFiles } from '../formats/tfjs/runtime.js';
import { KerasModel } from '../formats/keras/read.js';
import { buildKerasInTfjs, kerasTopology } from '../formats/keras/runtime.js';
import type { StoredModel } from '../formats/storedModel.js';
import type { Model, ModelFormat } from '../types.js';

/** Formats whose models those steps run on. */
export function runsInTfjs(format: ModelFormat): boolean {
  return format === 'tfjs-layers' || format === 'keras' || format === 'keras-h5';
}

export interface LoadedLayersModel { model: LayersModel; topology: Record<string, unknown> }

export interface LayersSource {
  /** The model file, for messages. */
  readonly path: string;
  /** The model's TF.js topology, which factorised forms are rewritten from (tfjs/layersWriter.ts). */
  readonly topology: Record<string, unknown>;
  /** A model of the step's own, to dispose when done: overwriting its weights leaves other steps' models as they were. */
  load(): Promise<LoadedLayersModel>;
  /** Frees the values every model shares; call once the job is done. */
  dispose(): Promise<void>;
}

/** The open model, built in TF.js with its weights: a Keras file from the datasets already open. */
async function read(model: Model): Promise<LayersModel> {
  if (model instanceof KerasModel) return buildKerasInTfjs(model);
  return (await tfjs()).loadLayersModel((await tfjsFiles(model.path)).handler);
}

/** `model` stays open while the source is in use. */
export function layersSource(model: Model): LayersSource {
  if (!runsInTfjs(model.format)) throw new Error(`${model.format} models are not run in TF.js`);
  const topology = model instanceof KerasModel ? kerasTopology(model) : ((model as StoredModel).extra as { modelTopology: Record<string, unknown> }).modelTopology;
  let first: Promise<LayersModel> | undefined;
  return {
    path: model.path,
    topology,
    async load() {
      first ??= read(model);
      const m = await first;
      const tf = await tfjs();
      const own = await tf.models.modelFromJSON({ modelTopology: topology } as unknown as import('@tensorflow/tfjs').io.ModelJSON);
      // Assigning a variable shares the tensor's values (TF.js counts references); a step's
      // setWeights or training step later gives its variable new values of its own.
      own.setWeights(m.getWeights());
      return { model: own, topology };
    },
    async dispose() {
      if (!first) return;
      (await first.catch(() => undefined))?.dispose();
      first = undefined;
    },
  };
}

/** Runs `fn` on the job's `source`, or on one of its own for `model` (disposed after) when there is none. */
export async function withLayersSource<T>(model: Model, source: LayersSource | undefined, fn: (s: LayersSource) => Promise<T>): Promise<T> {
  if (source) return fn(source);
  const own = layersSource(model);
  try {
    return await fn(own);
  } finally {
    await own.dispose();
  }
}
