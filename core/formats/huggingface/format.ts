// Hugging Face model folders: plain SVD reads only the safetensors weights. Every data-aware step
// runs the folder's own module, which the PyTorch worker builds with transformers from its
// config.json (runners/torch.ts, python/torch_runner.py): passing the folder is the choice to
// run it, as --torch-model is for a file. Without transformers in the interpreter, the worker
// refuses in one line naming what is missing.
import type { FormatModule } from '../format.js';
import { WITH_TORCH_MODULE } from '../format.js';
import { torchRunner } from '../../runners/torch.js';
import { folderParts, readFolder, type FolderModel } from './folder.js';
import { writeFolder } from './write.js';
import { safetensors } from '../safetensors/format.js';

export const huggingFace: FormatModule<FolderModel> = {
  id: 'huggingface',
  title: 'Hugging Face folder',
  // A folder, found by its config.json (registry.ts's formatOf), not by an ending.
  extensions: [],
  folderParts,
  read: readFolder,
  write: writeFolder,
  // The weights as safetensors writes them, and the carried files and the loader as they are.
  outputOverhead: (model) => {
    const weights = safetensors.outputOverhead!(model.extra.weights);
    return { base: weights.base + model.carriedBytes, perLayer: weights.perLayer };
  },
  runner: torchRunner,
  capabilities: WITH_TORCH_MODULE,
};
