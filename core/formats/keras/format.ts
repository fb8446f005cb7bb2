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

export const kerasH5: FormatModule<KerasModel> = {
  id: 'keras-h5', title: 'Keras', extensions: ['.h5'], read: readKerasH5, write: writeKeras, runtime, runner, capabilities,
};

export const kerasV3: FormatModule<KerasModel> = {
  id: 'keras', title: 'Keras', extensions: ['.keras'], read: readKeras, write: writeKeras, runtime, runner, capabilities,
};
