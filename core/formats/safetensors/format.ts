// safetensors: one file, or a Hugging Face index over shards. Weights only: plain SVD and
// weight-by-weight evaluation, unless the user names the module that runs it (--torch-model):
// then every data-aware step runs that module in the PyTorch worker (runners/torch.ts).
import type { FormatModule } from '../format.js';
import type { StoredModel } from '../storedModel.js';
import { storedOverhead, WEIGHTS_ONLY, WITH_TORCH_MODULE } from '../format.js';
import { torchRunner } from '../../runners/torch.js';
import { readSafetensors } from './read.js';
import { INDEX_SUFFIX, isIndexModel, readSafetensorsIndex, type SafetensorsModel } from './shardIndex.js';
import { writeSafetensorsIndex } from './shardIndexWrite.js';
import { HEADER_PER_LAYER, INDEX_PER_LAYER, writeSafetensors } from './write.js';

export const safetensors: FormatModule<SafetensorsModel> = {
  id: 'safetensors',
  title: 'safetensors',
  extensions: ['.safetensors', INDEX_SUFFIX],
  read: (path) => (path.toLowerCase().endsWith(INDEX_SUFFIX) ? readSafetensorsIndex(path) : readSafetensors(path)),
  // One format, two layouts: a single file, or an index over shards.
  write: (model, ...rest) => (isIndexModel(model) ? writeSafetensorsIndex(model, ...rest) : writeSafetensors(model as StoredModel<{ metadata: Record<string, string> }>, ...rest)),
  // The headers (and an index) are written again with the same entries: the original's bytes besides its values.
  outputOverhead: (model) => ({ base: storedOverhead(model), perLayer: isIndexModel(model) ? INDEX_PER_LAYER : HEADER_PER_LAYER }),
  runner: torchRunner,
  capabilities: WEIGHTS_ONLY,
  withModule: WITH_TORCH_MODULE,
};
