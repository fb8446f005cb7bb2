// safetensors: one file, or a Hugging Face index over shards. Weights only: no forward pass to
// run, so plain SVD and weight-by-weight evaluation.
import type { FormatModule } from '../format.js';
import type { StoredModel } from '../storedModel.js';
import { WEIGHTS_ONLY } from '../format.js';
import { readSafetensors } from './read.js';
import { INDEX_SUFFIX, isIndexModel, readSafetensorsIndex, type SafetensorsModel } from './shardIndex.js';
import { writeSafetensorsIndex } from './shardIndexWrite.js';
import { writeSafetensors } from './write.js';

export const safetensors: FormatModule<SafetensorsModel> = {
  id: 'safetensors',
  title: 'safetensors',
  extensions: ['.safetensors', INDEX_SUFFIX],
  read: (path) => (path.toLowerCase().endsWith(INDEX_SUFFIX) ? readSafetensorsIndex(path) : readSafetensors(path)),
  // One format, two layouts: a single file, or an index over shards.
  write: (model, ...rest) => (isIndexModel(model) ? writeSafetensorsIndex(model, ...rest) : writeSafetensors(model as StoredModel<{ metadata: Record<string, string> }>, ...rest)),
  capabilities: WEIGHTS_ONLY,
};
