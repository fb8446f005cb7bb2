// A Hugging Face model folder (config.json beside safetensors weights, one file or sharded) as
// one model: its layers are its weights', read by the safetensors reader; the other small
// files (config, tokenizer, generation config) are carried into the output folder unchanged.
import { existsSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { workerScript } from '../../engines/torchWorker.js';
import { InputError } from '../../types.js';
import { safetensors } from '../safetensors/format.js';
import type { SafetensorsModel } from '../safetensors/shardIndex.js';
import { StoredModel, type StoredModelInit } from '../storedModel.js';

export const CONFIG = 'config.json';

/** The loader written into every output folder (python/reducible_load.py): it loads the folder back. */
export const LOADER = 'reducible_load.py';

/**
 * The weights read, in the order looked for: sharded, else one file — what transformers'
 * save_pretrained writes (python/reducible_load.py's FOLDER_WEIGHTS looks in the same order).
 */
const WEIGHTS = ['model.safetensors.index.json', 'model.safetensors'];

/** Weights in other formats and their indexes (pytorch_model.bin, tf_model.h5, …): carried over they would be the unreduced model again. */
const OTHER_WEIGHTS = /\.(?:safetensors|bin|pt|pth|ckpt|h5|msgpack|onnx|gguf)$|\.index\.json$/i;

export interface FolderExtra {
  weights: SafetensorsModel;
  /** Files copied into the output as they are. */
  carried: string[];
}

export class FolderModel extends StoredModel<FolderExtra> {
  /** Bytes of the carried files and the loader, written unchanged (format.ts's outputOverhead counts them). */
  readonly carriedBytes: number;

  constructor(init: StoredModelInit<FolderExtra>, carriedBytes: number) {
    super(init);
    this.carriedBytes = carriedBytes;
  }

  /** The weights' files are open in the weights model. */
  override async close(): Promise<void> { await this.extra.weights.close(); }
}

/** Of a folder's file names, its weights file, the first of WEIGHTS it holds. */
const weightsIn = (names: readonly string[]): string | undefined => WEIGHTS.find((n) => names.includes(n));

/** A folder's config and weights files, when it holds both: what makes it a model (FormatModule.folderParts). */
export function folderParts(names: readonly string[]): string[] | undefined {
  const weights = weightsIn(names);
  return weights && names.includes(CONFIG) ? [CONFIG, weights] : undefined;
}

/** Whether `path` is a model folder: a folder with a config.json (reading it says what else is missing). */
export function isHuggingFaceFolder(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true && existsSync(join(path, CONFIG));
}

export async function readFolder(folder: string): Promise<FolderModel> {
  const names = (await readdir(folder)).sort();
  const file = weightsIn(names);
  if (!file) throw new InputError(folder, `Hugging Face model folder without ${WEIGHTS.join(' or ')}: Reducible reads safetensors weights`, 'unsupported');
  const weights = await safetensors.read(join(folder, file));
  const carried: string[] = [];
  let bytes = 0;
  for (const n of names) {
    const path = join(folder, n);
    // Dot-files are tooling's (.git, .cache); a loader already there is replaced by this version's.
    if (n.startsWith('.') || n === LOADER || OTHER_WEIGHTS.test(n) || weights.files.includes(path)) continue;
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) continue;
    carried.push(path);
    bytes += st.size;
  }
  return new FolderModel({
    format: 'huggingface', path: folder, files: [...weights.files, ...carried], fileBytes: weights.fileBytes + bytes,
    tensors: weights.tensors, layers: weights.layers, sources: [], extra: { weights, carried },
  }, bytes + (await stat(workerScript(LOADER))).size);
}
