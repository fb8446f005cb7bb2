// Format → writer and default output name. A format without a writer can be analysed but not compressed.
import { basename, dirname, extname, join } from 'node:path';
import type { Writer } from '../compress/types.js';
import type { ModelFormat } from '../types.js';
import type { StoredModel } from './storedModel.js';
import { writeKeras } from './keras/write.js';
import { writeOnnx } from './onnx/write.js';
import { INDEX_SUFFIX, isIndexModel, isSafetensorsIndex } from './safetensors/shardIndex.js';
import { writeSafetensorsIndex } from './safetensors/shardIndexWrite.js';
import { writeSafetensors } from './safetensors/write.js';
import { writeTfjsGraph } from './tfjs/graphWriter.js';
import { writeTfjsLayers } from './tfjs/layersWriter.js';

export interface WriterEntry {
  write: Writer<StoredModel>;
  /** Extension of the output (PyTorch checkpoints are written as safetensors). */
  ext?: string;
}

export const WRITERS: Partial<Record<ModelFormat, WriterEntry>> = {
  'tfjs-layers': { write: writeTfjsLayers },
  'tfjs-graph': { write: writeTfjsGraph },
  onnx: { write: writeOnnx },
  'keras-h5': { write: writeKeras },
  keras: { write: writeKeras },
  // One format, two layouts: a single file, or a Hugging Face index over shards.
  safetensors: { write: (model, ...rest) => (isIndexModel(model) ? writeSafetensorsIndex : writeSafetensors)(model, ...rest) },
  pytorch: { write: writeSafetensors, ext: '.safetensors' },
};

/** `dir/name.ext` → `dir/name.reduced.ext` (`name.safetensors.index.json` → `name.reduced.safetensors.index.json`). */
export function defaultOutput(path: string, ext?: string): string {
  const e = isSafetensorsIndex(path) ? path.slice(-INDEX_SUFFIX.length) : extname(path);
  return join(dirname(path), `${basename(path, e)}.reduced${ext ?? e}`);
}
