// Which files in a workspace folder are models: the readers' extensions, TF.js JSON by
// content, and folders that are models (Hugging Face: config.json + safetensors weights), minus
// what the folder's `files.exclude` hides. A model's parts (shards, a folder's weights) are not
// models of their own.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { isModelPath } from '../core/formats/open.js';
import { readRegularFile } from '../core/io/byteSource.js';
import { candidatesFor, formats, modelFolderParts } from '../core/formats/registry.js';
import { isSafetensorsIndex } from '../core/formats/safetensors/shardIndex.js';
import type { ExcludeTest } from './fileExclude.js';

/** A workspace folder and the test of its `files.exclude` setting. */
export interface SearchRoot {
  path: string;
  excluded: ExcludeTest;
}

/** Folders never holding models the user means (and costly to walk). */
const SKIPPED_DIRS = new Set(['node_modules', '__pycache__', 'site-packages', 'dist-packages', 'venv']);

/** JSON bigger than this is data, not a TF.js topology; not worth parsing to find out. */
const MAX_MODEL_JSON = 64 * 2 ** 20;

/** Extensions whose changes can affect a model: model files plus TF.js weight shards. */
export function watchedExtensions(): string[] {
  return [...new Set(['json', 'bin', ...formats().flatMap((f) => f.extensions.map((e) => e.slice(e.lastIndexOf('.') + 1)))])];
}

const skippedDir = (name: string): boolean => name.startsWith('.') || SKIPPED_DIRS.has(name);

/** The folder that holds the path, when it lies in a folder we search (watch events come from everywhere). */
export function searchedRoot(roots: SearchRoot[], path: string): SearchRoot | undefined {
  return roots.find((root) => {
    const rel = relative(root.path, path);
    if (rel === '' || rel.startsWith('..')) return false;
    const parts = rel.split(sep);
    return !parts.slice(0, -1).some(skippedDir) && !root.excluded(parts.join('/'));
  });
}

export async function isModelFile(path: string): Promise<boolean> {
  if (!isModelPath(path)) return false;
  // A format that takes the file by its ending alone comes first; otherwise its content decides (TF.js model.json).
  const candidates = candidatesFor(path);
  if (!candidates[0].sniff) return true;
  try {
    if ((await stat(path)).size > MAX_MODEL_JSON) return false;
    for (const f of candidates) if (await f.sniff?.(path)) return true;
    return false;
  } catch {
    return false;
  }
}

/** The files that make `dir` a model folder (its config and weights), undefined when it is not one. */
async function modelFolder(dir: string): Promise<string[] | undefined> {
  try {
    return modelFolderParts(dir, (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name));
  } catch {
    return undefined;
  }
}

/** Whether `path` is a model: a model file, or a model folder. */
export async function isModel(path: string): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  return st?.isDirectory() ? (await modelFolder(path)) !== undefined : isModelFile(path);
}

/** The model folder whose config or weights file `path` is (a watch event on it concerns the folder); else undefined. */
export async function folderOfPart(path: string): Promise<string | undefined> {
  const dir = dirname(path);
  return (await modelFolder(dir))?.includes(path) ? dir : undefined;
}

/** A model's bytes before it is read (queue order, the size limit): a file's size; a folder's parts', shards included. */
export async function modelBytes(path: string): Promise<number> {
  const st = await stat(path);
  if (!st.isDirectory()) return st.size;
  const parts = await modelFolder(path) ?? [];
  const files = new Set([...parts, ...(await Promise.all(parts.filter((p) => extname(p) === '.json').map(jsonShards))).flat()]);
  const sizes = await Promise.all([...files].map((f) => stat(f).then((s) => s.size, () => 0)));
  return sizes.reduce((a, b) => a + b, 0);
}

/**
 * The files a JSON model names (a TF.js manifest's weight files, a safetensors index's
 * shards): they are part of that model, not models of their own.
 */
async function jsonShards(jsonPath: string): Promise<string[]> {
  try {
    // As every model file is read (regular files only, non-blocking): it was one when listed, but may be a FIFO by now.
    const json = JSON.parse(new TextDecoder().decode(await readRegularFile(jsonPath, MAX_MODEL_JSON)));
    const files = isSafetensorsIndex(jsonPath)
      ? Object.values(json.weight_map as Record<string, unknown>)
      : (json.weightsManifest as { paths?: unknown[] }[]).flatMap((g) => (Array.isArray(g?.paths) ? g.paths : []));
    return files.map((p) => resolve(dirname(jsonPath), String(p)));
  } catch {
    return [];
  }
}

export async function findModelFiles(root: SearchRoot): Promise<string[]> {
  const found: string[] = [];
  /** Excluded model.json files: their weight shards are still theirs, not models of their own. */
  const hiddenJsons: string[] = [];
  /** The config and weights of model folders: parts of the folder, which is listed in their place. */
  const folderParts: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries: Dirent[];
    try { entries = await readdir(dir, { withFileTypes: true }); } catch { return; }
    const parts = modelFolderParts(dir, entries.filter((e) => e.isFile()).map((e) => e.name));
    if (parts) {
      found.push(dir);
      folderParts.push(...parts);
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (root.excluded(r)) {
        // An excluded folder is not walked at all: exclusions are usually big (data, outputs).
        if (e.isFile() && extname(p).toLowerCase() === '.json' && await isModelFile(p)) hiddenJsons.push(p);
        continue;
      }
      if (e.isDirectory()) {
        if (!skippedDir(e.name)) await walk(p, r);
      } else if (e.isFile() && await isModelFile(p)) {
        found.push(p);
      }
    }
  };
  await walk(root.path, '');
  const jsons = [...found, ...folderParts].filter((p) => extname(p).toLowerCase() === '.json');
  const parts = new Set([...folderParts, ...(await Promise.all([...jsons, ...hiddenJsons].map(jsonShards))).flat()]);
  return found.filter((p) => !parts.has(p));
}
