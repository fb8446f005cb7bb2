// Picks the reader for a path by extension and content.
import { extname } from 'node:path';
import { stat } from 'node:fs/promises';
import type { Model } from '../types.js';
import { InputError } from '../types.js';
import { isTfjsJson, readTfjs } from './tfjs/read.js';
import { readSafetensors } from './safetensors/read.js';
import { isSafetensorsIndex, readSafetensorsIndex } from './safetensors/shardIndex.js';
import { readKeras, readKerasH5 } from './keras/read.js';
import { readOnnx } from './onnx/read.js';
import { readPytorch } from './pytorch/read.js';

export type Reader = (path: string) => Promise<Model>;

/** Extension → reader. Other formats register here as they land. */
export const READERS: Record<string, Reader> = {
  '.safetensors': readSafetensors,
  '.h5': readKerasH5,
  '.keras': readKeras,
  '.onnx': readOnnx,
  // torch.save zips; readPytorch refuses a `.bin` that is not one (e.g. a TF.js shard).
  '.pt': readPytorch,
  '.pth': readPytorch,
  '.bin': readPytorch,
};

export async function openModel(path: string): Promise<Model> {
  try {
    await stat(path);
  } catch {
    throw new InputError(path, 'no such file');
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.json') {
    if (isSafetensorsIndex(path)) return readSafetensorsIndex(path);
    if (await isTfjsJson(path)) return readTfjs(path);
    throw new InputError(path, 'JSON file is not a TF.js model (no weightsManifest)');
  }
  const reader = READERS[ext];
  if (!reader) throw new InputError(path, `unsupported model format "${ext || 'no extension'}" (supported: .json TF.js, .safetensors.index.json, ${Object.keys(READERS).join(', ')})`);
  return reader(path);
}

/** TF.js weight shards share PyTorch's `.bin`; they belong to their model.json, not listed alone. */
const TFJS_SHARD = /shard\d+of\d+\.bin$/i;

export function isModelPath(path: string): boolean {
  const ext = extname(path).toLowerCase();
  return ext === '.json' ? !path.endsWith('.report.json') : ext in READERS && !TFJS_SHARD.test(path);
}
