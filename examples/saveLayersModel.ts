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
    // Without provenance the file carries only the standard fields (fuzz regressions replay
    // mutations by JSON node index on the test fixtures, so their layout must not move).
    const provenance = options.generatedBy === undefined ? {} : { generatedBy: options.generatedBy, convertedBy: null };
    const json = { format: 'layers-model', ...provenance, modelTopology: a.modelTopology, weightsManifest: [{ paths: [bin], weights: a.weightSpecs }] };
    writeFileSync(join(dir, name), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return join(dir, name);
}
