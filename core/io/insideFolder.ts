// Files a model names by relative path (TF.js weight files, ONNX external data, safetensors
// shards) must lie in the model's own folder: a hostile model must not make us read
// /etc/passwd or ../secrets.
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * The full path of `location` inside `dir`, or undefined when it is absolute, climbs out
 * with `..`, names the folder itself, or is a symlink that leads outside the folder.
 */
export async function resolveInside(dir: string, location: string): Promise<string | undefined> {
  const full = resolve(dir, location);
  const rel = relative(dir, full);
  if (isAbsolute(location) || rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  const [realDir, realFile] = await Promise.all([realpath(dir), realpath(full).catch(() => full)]);
  return realFile.startsWith(realDir + sep) ? full : undefined;
}
