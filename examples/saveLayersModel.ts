// Saves a tf.LayersModel in the standard TF.js layers format (model.json + one weights shard)
// with Node's fs: stock tfjs saves to files only through tfjs-node, which can't be installed
// everywhere (its install downloads libtensorflow).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export interface SaveOptions {
  /** File names of the topology and of the weights shard. */
  name?: string;
  weights?: string;
  /** Provenance written into model.json's `generatedBy`. */
  generatedBy?: string;
}

/** Returns the path of the written model.json. */
export async function saveLayersModel(model: tf.LayersModel, dir: string, options: SaveOptions = {}): Promise<string> {
  const name = options.name ?? 'model.json';
  const bin = options.weights ?? 'weights.bin';
  mkdirSync(dir, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (a) => {
    writeFileSync(join(dir, bin), new Uint8Array(a.weightData as ArrayBuffer));
    const json = { format: 'layers-model', generatedBy: options.generatedBy ?? null, convertedBy: null,
      modelTopology: a.modelTopology, weightsManifest: [{ paths: [bin], weights: a.weightSpecs }] };
    writeFileSync(join(dir, name), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return join(dir, name);
}
