// The model that the TF.js-run steps of a compression (sensitivity, the whitened/plain guard,
// the refinement, fine-tuning) load and rebuild: a TF.js layers model.json, or a Keras file
// built in TF.js the way `evaluate` runs it, with the topology its factorised forms are made of.
import { extname } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import { tfjs, tfjsFiles } from '../eval/tfjsRuntime.js';
import { loadKerasWithTopology } from '../formats/kerasTfjs.js';
import type { ModelFormat } from '../types.js';

/** Formats whose models those steps run on. */
export function runsInTfjs(format: ModelFormat): boolean {
  return format === 'tfjs-layers' || format === 'keras' || format === 'keras-h5';
}

export async function layersModel(path: string): Promise<{ model: LayersModel; topology: object }> {
  if (['.h5', '.keras'].includes(extname(path).toLowerCase())) return loadKerasWithTopology(path);
  const { json, handler } = await tfjsFiles(path);
  return { model: await (await tfjs()).loadLayersModel(handler), topology: json.modelTopology as object };
}
