// PyTorch checkpoints (torch.save zips), parsed without running their pickle; written as
// safetensors in the state-dict layout of the factorised modules (safetensors/write.ts). Run,
// for the data-aware steps, only by the module the user names (--torch-model: runners/torch.ts).
import { WEIGHTS_ONLY, WITH_TORCH_MODULE, type FormatModule } from '../format.js';
import { torchRunner } from '../../runners/torch.js';
import { HEADER_PER_LAYER, safetensorsHeaderBytes, writeSafetensors } from '../safetensors/write.js';
import { readPytorch, type PytorchModel } from './read.js';

export const pytorch: FormatModule<PytorchModel> = {
  id: 'pytorch',
  title: 'PyTorch',
  // `.bin` is shared with TF.js weight shards: readPytorch refuses a file that is not a torch.save zip.
  extensions: ['.pt', '.pth', '.bin'],
  read: readPytorch,
  write: writeSafetensors,
  outputExtension: '.safetensors',
  // Written as safetensors: the pickle and zip are not, a safetensors header is.
  outputOverhead: (model) => ({ base: safetensorsHeaderBytes(model.tensors), perLayer: HEADER_PER_LAYER }),
  runner: torchRunner,
  capabilities: WEIGHTS_ONLY,
  withModule: WITH_TORCH_MODULE,
};
