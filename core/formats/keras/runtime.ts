// Runs Keras files in stock TF.js, the way tensorflowjs_converter brings them there: the
// model config goes to tf.models.modelFromJSON unchanged (Keras 3 configs are first restated
// in the Keras 2 form TF.js reads) and each layer receives its weights, in Keras' order, from
// the HDF5 file. TF.js cannot nest models inside functional ones; such files are refused.
import type { LayersModel, io, layers } from '@tensorflow/tfjs';
import { loadedLayers, tfjs } from '../tfjs/runtime.js';
import type { LoadedModel } from '../format.js';
import { InputError } from '../../types.js';
import { KerasModel, weightsByLayer } from './read.js';
import { openModel } from '../open.js';

type Json = Record<string, unknown>;

/** The Keras file's model as a TF.js layers topology (`{model_config}`), as modelFromJSON reads it. */
export function kerasTopology(keras: KerasModel): Json {
  return { model_config: keras.format === 'keras' ? asKeras2(keras.extra.config as Json) : keras.extra.config };
}

/** The open Keras file's model built in TF.js from its topology (kerasTopology), with the file's weights. */
export async function buildKerasInTfjs(keras: KerasModel): Promise<LayersModel> {
  const tf = await tfjs();
  const path = keras.path;
  let model: LayersModel;
  try {
    model = await tf.models.modelFromJSON({ modelTopology: kerasTopology(keras) } as unknown as io.ModelJSON);
  } catch (e) {
    throw new InputError(path, `TF.js cannot build this model (${(e as Error).message.split('\n')[0]})`);
  }
  const weights = weightsByLayer(keras);
  try {
    for (const layer of flatten(model)) {
      const names = weights.get(layer.name) ?? [];
      if (names.length !== layer.weights.length) throw new InputError(path, `layer ${layer.name} has ${names.length} weights in the file, TF.js expects ${layer.weights.length}`);
      const values = await Promise.all(names.map(async (n) => tf.tensor(await keras.readTensor(n), keras.tensor(n).shape)));
      try {
        layer.setWeights(values);
      } catch (e) {
        // e.g. a grouped convolution: TF.js builds the layer without `groups`, so its kernel's shape differs.
        throw new InputError(path, `TF.js cannot load layer ${layer.name}'s weights (${(e as Error).message.split('\n')[0]})`);
      } finally {
        tf.dispose(values);
      }
    }
  } catch (e) {
    // A file refused part-way must not leave its half-built model's variables behind (the server lives on).
    model.dispose();
    throw e;
  }
  return model;
}

async function loadKerasInTfjs(path: string): Promise<LayersModel> {
  const keras = await openModel(path);
  try {
    if (!(keras instanceof KerasModel)) throw new InputError(path, 'not a Keras model');
    return await buildKerasInTfjs(keras);
  } finally {
    await keras.close();
  }
}

export async function loadKeras(path: string): Promise<LoadedModel> {
  return loadedLayers(path, await loadKerasInTfjs(path));
}

function flatten(model: LayersModel): layers.Layer[] {
  return model.layers.flatMap((l) => ('layers' in l ? flatten(l as LayersModel) : [l]));
}

/**
 * A Keras 3 model config in Keras 2 form: dtype policies become their dtype name, InputLayer's
 * batch_shape becomes batch_input_shape, and inbound nodes `{args, kwargs}` holding
 * `__keras_tensor__`s become lists of `[layer, node, tensor, {}]`.
 */
function asKeras2(entry: Json): Json {
  const config = { ...(entry.config as Json) };
  // TF.js computes in float32 whatever the policy says.
  if (config.dtype && typeof config.dtype === 'object') config.dtype = 'float32';
  if ('batch_shape' in config) { config.batch_input_shape = config.batch_shape; delete config.batch_shape; }
  if (Array.isArray(config.layers)) config.layers = (config.layers as Json[]).map(asKeras2);
  const out: Json = { class_name: entry.class_name, config };
  if ('name' in entry) out.name = entry.name;
  if (Array.isArray(entry.inbound_nodes)) out.inbound_nodes = (entry.inbound_nodes as Json[]).map((node) => history(node.args).map((h) => [...h.slice(0, 3), {}]));
  return out;
}

function history(x: unknown): unknown[][] {
  if (Array.isArray(x)) return x.flatMap(history);
  if (!x || typeof x !== 'object') return [];
  const o = x as Json;
  if (o.class_name === '__keras_tensor__') return [(o.config as Json).keras_history as unknown[]];
  return Object.values(o).flatMap(history);
}
