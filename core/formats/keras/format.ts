// Keras models: legacy `.h5` files and Keras 3 `.keras` archives, read through HDF5 and run by
// building their config in TF.js, the way tensorflowjs_converter brings them there.
import { layersSource, type LayersSource } from '../../runners/layersSource.js';
import type { ModelRunner } from '../../runners/runner.js';
import { tfjsRunner } from '../../runners/tfjs.js';
import type { Capabilities } from '../../types.js';
import type { FormatModule, Runtime } from '../format.js';
import { KerasModel, readKeras, readKerasH5, weightsByLayer } from './read.js';
import { buildKerasInTfjs, kerasTopology, loadKeras } from './runtime.js';
import { writeKeras } from './write.js';

/** The open Keras file built in TF.js from the datasets already open: what the TF.js runner runs. */
export function kerasLayersSource(model: KerasModel): LayersSource {
  return layersSource(model.path, kerasTopology(model), () => buildKerasInTfjs(model));
}

const runtime: Runtime = { load: loadKeras };
const capabilities: Capabilities = { compress: true, evaluate: true, whiten: true, sensitivity: true, refine: true, finetune: true, relayout: false };

function runner(model: KerasModel): ModelRunner {
  // A Keras file's weights are HDF5 datasets, in the order TF.js holds them (runtime.ts).
  let stored: Map<string, string[]> | undefined;
  return tfjsRunner(model, kerasLayersSource(model), (layer, i) => (stored ??= weightsByLayer(model)).get(layer)![i]);
}

/**
 * The weights file is rebuilt by h5wasm (write.ts), whose structure differs from the source's
 * (h5py's): its overhead is estimated, not copied. Each layer with weights costs about
 * HDF5_PER_LAYER (its groups, datasets and their attributes) and a factorised one adds a layer
 * of its own; the rest is fixed, and in a `.keras` archive the config (config.json) beside it.
 * Fitted on make_keras.py's models (mlp, wide, zoo, functional, convnet, branches, nested) with
 * nothing and one to four layers factorised: h5wasm allocates metadata in blocks, so the written
 * overhead moves in steps of kilobytes (one more factorised layer of convnet.h5: +5.8 kB; of
 * zoo.h5: +0.7 kB), and this estimate lands within −1.7 to +4.6 kB of it for `.h5`, ±2.6 kB for
 * `.keras` (test/formats/predictedBytes.test.ts).
 */
const HDF5_PER_LAYER = 900, H5_PER_FACTORISED = 1536;
const H5_FIXED = 6144, KERAS_FIXED = 4096;

export const kerasH5: FormatModule<KerasModel> = {
  id: 'keras-h5', title: 'Keras', extensions: ['.h5'], read: readKerasH5, write: writeKeras, runtime, runner, capabilities,
  outputOverhead: (model) => ({ base: H5_FIXED + HDF5_PER_LAYER * model.layers.length, perLayer: H5_PER_FACTORISED }),
};

export const kerasV3: FormatModule<KerasModel> = {
  id: 'keras', title: 'Keras', extensions: ['.keras'], read: readKeras, write: writeKeras, runtime, runner, capabilities,
  outputOverhead: (model) => ({ base: KERAS_FIXED + JSON.stringify(model.extra.config).length + HDF5_PER_LAYER * model.layers.length, perLayer: HDF5_PER_LAYER }),
};
