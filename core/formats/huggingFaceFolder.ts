// A Hugging Face model folder (config.json beside safetensors weights) as the model path. Running
// one needs `transformers` in the user's interpreter (AutoModelFor… from the config's
// `architectures`); until Reducible builds modules that way, a folder is refused in one line
// that says what is missing and what works today: the folder's safetensors (or its index)
// with --torch-model.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolvePython } from '../engines/torchWorker.js';
import { InputError } from '../types.js';

/** Whether `path` is a model folder: a folder with a config.json. */
export function isHuggingFaceFolder(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory() && existsSync(join(path, 'config.json'));
}

/** The one-line refusal for the folder `path`: what is missing, and what to pass instead. */
export function folderRefusal(path: string, python?: string): InputError {
  const interpreter = resolvePython(python);
  const probe = spawnSync(interpreter, ['-c', 'import transformers'], { encoding: 'utf8', timeout: 60_000 });
  const missing = probe.status === 0 ? 'building modules with transformers is not supported yet' : `${interpreter} cannot import transformers`;
  return new InputError(path, `Hugging Face model folder: ${missing}; pass its model.safetensors (or model.safetensors.index.json) with --torch-model file.py:factory`, 'unsupported');
}
