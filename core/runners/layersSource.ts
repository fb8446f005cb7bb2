// The model that the TF.js-run steps of a compression (whitening statistics, sensitivity, the
// refinement, the whitened/plain guard, fine-tuning) run: a TF.js layers model.json, or a Keras
// file built in TF.js the way `evaluate` runs it, with the topology its factorised forms are
// made of. A job reads the file once: every step gets a model of its own, built from the
// topology, whose weights share the first model's values until the step overwrites them (a
// Keras file would otherwise be re-read from HDF5 by each of up to five steps).
import type { LayersModel } from '@tensorflow/tfjs';
import { tfjs } from '../formats/tfjs/runtime.js';

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

/**
 * `read` builds the model with its weights (the format module knows how: a TF.js model.json
 * through tf.loadLayersModel, a Keras file from its open datasets); it runs once.
 */
export function layersSource(path: string, topology: Record<string, unknown>, read: () => Promise<LayersModel>): LayersSource {
  let first: Promise<LayersModel> | undefined;
  return {
    path,
    topology,
    async load() {
      first ??= read();
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
