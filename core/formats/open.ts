// Opens a model file with the reader of its format (registry.ts).
import { stat } from 'node:fs/promises';
import { InputError } from '../types.js';
import { candidatesFor, formatOf } from './registry.js';
import type { StoredModel } from './storedModel.js';

export async function openModel(path: string): Promise<StoredModel<unknown>> {
  try {
    await stat(path);
  } catch {
    throw new InputError(path, 'no such file');
  }
  return (await formatOf(path)).read(path);
}

/** TF.js weight shards share PyTorch's `.bin`; they belong to their model.json, not listed alone. */
const TFJS_SHARD = /shard\d+of\d+\.bin$/i;

/** Whether the workspace lists the file as a model (a `.json` is checked for content later). */
export function isModelPath(path: string): boolean {
  return !path.endsWith('.report.json') && !TFJS_SHARD.test(path) && candidatesFor(path).length > 0;
}
