// Sharded safetensors (Hugging Face `model.safetensors.index.json`): a JSON index maps each
// tensor name to the shard file holding it. The index is one model: its layers are those of
// the state dict across all shards, each tensor read lazily from its own shard.
import { dirname } from 'node:path';
import { FileSource } from '../../io/byteSource.js';
import { openInside } from '../../io/insideFolder.js';
import { InputError } from '../../types.js';
import { parseSafetensors, stateDictLayers } from './read.js';
import { StoredModel, type StoredTensor } from '../storedModel.js';

/** Real indexes are kilobytes to a few MB (one line per tensor); a larger one is refused unread. */
export const MAX_INDEX = 16 * 1024 * 1024;

/** Every shard stays open for lazy reads; the largest public checkpoints have a few hundred. */
export const MAX_SHARDS = 1024;

export const INDEX_SUFFIX = '.safetensors.index.json';

export function isSafetensorsIndex(path: string): boolean {
  return path.toLowerCase().endsWith(INDEX_SUFFIX);
}

/** One input shard: the file name as the index gives it, and what the writer needs to rebuild it. */
export interface Shard {
  file: string;
  tensors: StoredTensor[];
  metadata: Record<string, string>;
}

export interface IndexExtra {
  /** The index's own `metadata` (total_size is recomputed on writing). */
  indexMetadata: Record<string, unknown>;
  shards: Shard[];
}

/** A safetensors file's `__metadata__`, or a sharded index's shards. */
export type SafetensorsExtra = { metadata: Record<string, string> } | IndexExtra;
export type SafetensorsModel = StoredModel<SafetensorsExtra>;

export function isIndexModel(model: SafetensorsModel): model is StoredModel<IndexExtra> {
  return 'shards' in model.extra;
}

export async function readSafetensorsIndex(path: string): Promise<StoredModel<IndexExtra>> {
  const { weightMap, indexMetadata, indexBytes } = await readIndex(path);
  const dir = dirname(path);
  const byShard = new Map<string, string[]>();
  for (const [name, file] of Object.entries(weightMap)) {
    if (!byShard.has(file)) byShard.set(file, []);
    byShard.get(file)!.push(name);
  }
  if (byShard.size > MAX_SHARDS) throw new InputError(path, `index names ${byShard.size} shards, over the limit of ${MAX_SHARDS}`);
  const sources: FileSource[] = [];
  try {
    const shards: Shard[] = [];
    for (const [file, names] of byShard) {
      const src = await openInside(path, dir, file, 'shard');
      sources.push(src);
      const { tensors, metadata } = await parseSafetensors(src, src.path);
      const held = new Set(tensors.map((t) => t.name));
      const missing = names.find((n) => !held.has(n));
      if (missing !== undefined) throw new InputError(path, `tensor ${missing} is listed in shard ${file}, which does not hold it`);
      // A shard may hold tensors the index maps elsewhere (or not at all): the index decides.
      shards.push({ file, tensors: tensors.filter((t) => weightMap[t.name] === file), metadata });
    }
    const all = shards.flatMap((s) => s.tensors);
    const extra: IndexExtra = { indexMetadata, shards };
    return new StoredModel({
      format: 'safetensors', path, files: [path, ...sources.map((s) => s.path)],
      fileBytes: indexBytes + sources.reduce((n, s) => n + s.size, 0),
      tensors: all, layers: stateDictLayers(all), sources, extra,
    });
  } catch (e) {
    await Promise.all(sources.map((s) => s.close()));
    throw e;
  }
}

async function readIndex(path: string): Promise<{ weightMap: Record<string, string>; indexMetadata: Record<string, unknown>; indexBytes: number }> {
  const src = await FileSource.open(path);
  let text: string;
  try {
    if (src.size > MAX_INDEX) throw new InputError(path, `index is ${src.size} bytes, over the ${MAX_INDEX / 1024 / 1024} MB limit`);
    text = new TextDecoder('utf-8', { fatal: true }).decode(await src.read(0, src.size));
  } finally {
    await src.close();
  }
  let index: { metadata?: unknown; weight_map?: unknown };
  try {
    index = JSON.parse(text);
  } catch (e) {
    throw new InputError(path, `index is not valid JSON (${(e as Error).message})`);
  }
  const map = index?.weight_map;
  if (!map || typeof map !== 'object' || Array.isArray(map)) throw new InputError(path, 'index has no weight_map object');
  const weightMap: Record<string, string> = Object.create(null);
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string' || !file) throw new InputError(path, `weight_map entry ${name} is not a shard file name`);
    weightMap[name] = file;
  }
  if (!Object.keys(weightMap).length) throw new InputError(path, 'index weight_map is empty');
  const meta = index.metadata;
  const indexMetadata = meta && typeof meta === 'object' && !Array.isArray(meta) ? meta as Record<string, unknown> : {};
  return { weightMap, indexMetadata, indexBytes: src.size };
}
