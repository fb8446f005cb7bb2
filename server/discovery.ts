// Which files in a workspace folder are models: the readers' extensions, TF.js JSON by
// content, minus what the folder's `files.exclude` hides.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { isModelPath } from '../core/formats/open.js';
import { readRegularFile } from '../core/io/byteSource.js';
import { candidatesFor, formats } from '../core/formats/registry.js';
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
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries: Dirent[];
    try { entries = await readdir(dir, { withFileTypes: true }); } catch { return; }
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
  const jsons = found.filter((p) => extname(p).toLowerCase() === '.json');
  const shards = new Set((await Promise.all([...jsons, ...hiddenJsons].map(jsonShards))).flat());
  return found.filter((p) => !shards.has(p));
}
