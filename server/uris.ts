// file: and reducible-outline: URIs ↔ paths. An outline document's path is its model's path.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OUTLINE_SCHEME } from '../shared/protocol.js';

export function modelPathOf(uri: string): { path: string; outline: boolean } | undefined {
  const outline = uri.startsWith(`${OUTLINE_SCHEME}:`);
  if (!outline && !uri.startsWith('file:')) return undefined;
  try {
    return { path: fileURLToPath(outline ? `file:${uri.slice(OUTLINE_SCHEME.length + 1)}` : uri), outline };
  } catch {
    return undefined;
  }
}

export function fileUri(path: string): string {
  return pathToFileURL(path).href;
}

export function outlineUri(path: string): string {
  return `${OUTLINE_SCHEME}:${fileUri(path).slice('file:'.length)}`;
}
