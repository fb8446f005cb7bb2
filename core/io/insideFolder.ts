// Files a model names by relative path (TF.js weight files, ONNX external data, safetensors
// shards) must lie in the model's own folder: a hostile model must not make us read
// /etc/passwd or ../secrets.
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { InputError } from '../types.js';
import { FileSource } from './byteSource.js';

/**
 * The full path of `location` inside `dir`, or undefined when it is absolute, climbs out
 * with `..`, names the folder itself, or is a symlink that leads outside the folder.
 */
async function resolveInside(dir: string, location: string): Promise<string | undefined> {
  const full = resolve(dir, location);
  const rel = relative(dir, full);
  if (isAbsolute(location) || rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  const [realDir, realFile] = await Promise.all([realpath(dir), realpath(full).catch(() => full)]);
  return realFile.startsWith(realDir + sep) ? full : undefined;
}

/**
 * Opens the file that the model at `modelPath` names as `location`, relative to its folder
 * `dir`. Refusals are the model's errors, calling the file what the model's format calls it
 * (`what`: "shard", "weight file"). With `opened` (full path → source), a file already
 * opened under another spelling of its path is shared, not opened again.
 */
export async function openInside(
  modelPath: string, dir: string, location: string, what: string, opened?: Map<string, FileSource>,
): Promise<FileSource> {
  const full = await resolveInside(dir, location);
  if (!full) throw new InputError(modelPath, `${what} path "${location}" points outside the model folder`);
  const known = opened?.get(full);
  if (known) return known;
  const source = await FileSource.open(full).catch((e: Error) => {
    throw new InputError(modelPath, `${what} ${location}: ${e.message.replace(`${full}: `, '')}`);
  });
  opened?.set(full, source);
  return source;
}
