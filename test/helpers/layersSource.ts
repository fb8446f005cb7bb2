// The TF.js layers source of an open TF.js layers or Keras model, as their format modules build
// it for their runner: for tests that drive the TF.js runner's parts directly.
import { kerasLayersSource } from '../../core/formats/keras/format.js';
import { KerasModel } from '../../core/formats/keras/read.js';
import type { StoredModel } from '../../core/formats/storedModel.js';
import { tfjsLayersSource } from '../../core/formats/tfjs/format.js';
import type { TfjsModel } from '../../core/formats/tfjs/read.js';
import type { LayersSource } from '../../core/runners/layersSource.js';

export function layersSourceOf(model: StoredModel<unknown>): LayersSource {
  if (model instanceof KerasModel) return kerasLayersSource(model);
  if (model.format !== 'tfjs-layers') throw new Error(`${model.path}: ${model.format} models are not run in TF.js in memory`);
  return tfjsLayersSource(model as TfjsModel);
}
