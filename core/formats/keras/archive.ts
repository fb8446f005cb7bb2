// The Keras 3 `.keras` zip: `metadata.json`, `config.json`, `model.weights.h5` and, for
// layers that own files, `assets/…`. The archive is unpacked in memory (libhdf5 then needs
// the weights as a real file), so it is capped; names and declared sizes are checked before
// anything is inflated, because fflate allocates an entry's declared size up front.
import { open } from 'node:fs/promises';
import { Zip, ZipPassThrough, unzipSync } from 'fflate';
import { FileSource } from '../../io/byteSource.js';
import type { OutputFile } from '../../compress/types.js';
import { InputError } from '../../types.js';

export const MAX_KERAS_ARCHIVE = 2 ** 31 - 1;
const MAX_JSON_ENTRY = 64 * 1024 * 1024;
export const CONFIG_ENTRY = 'config.json';
export const WEIGHTS_ENTRY = 'model.weights.h5';

export interface KerasArchive {
  config: unknown;
  /** Every entry, in archive order (the writer copies the ones it does not change). */
  entries: Map<string, Uint8Array>;
}

export async function readKerasArchive(path: string): Promise<KerasArchive> {
  const src = await FileSource.open(path);
  let bytes: Uint8Array;
  try {
    if (src.size > MAX_KERAS_ARCHIVE) throw new InputError(path, `archive is larger than the ${MAX_KERAS_ARCHIVE}-byte limit`);
    bytes = await src.read(0, src.size);
  } finally {
    await src.close();
  }
  let refusal: string | undefined;
  let declared = 0;
  let raw: Record<string, Uint8Array>;
  try {
    raw = unzipSync(bytes, {
      filter: (f) => {
        refusal ??= entryProblem(f.name, f.originalSize);
        declared += f.originalSize;
        if (!refusal && declared > MAX_KERAS_ARCHIVE) refusal = `entries declare ${declared} bytes in all, over the ${MAX_KERAS_ARCHIVE}-byte limit`;
        return refusal === undefined;
      },
    });
  } catch (e) {
    throw new InputError(path, `not a valid .keras zip archive (${(e as Error).message})`);
  }
  if (refusal) throw new InputError(path, refusal);
  const entries = new Map(Object.entries(raw));
  const configBytes = entries.get(CONFIG_ENTRY);
  if (!configBytes) throw new InputError(path, `not a Keras 3 archive: no ${CONFIG_ENTRY}`);
  if (!entries.has(WEIGHTS_ENTRY)) throw new InputError(path, `not a Keras 3 archive: no ${WEIGHTS_ENTRY}`);
  if (configBytes.length > MAX_JSON_ENTRY) throw new InputError(path, `${CONFIG_ENTRY} is larger than 64 MB`);
  let config: unknown;
  try {
    config = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(configBytes));
  } catch (e) {
    throw new InputError(path, `${CONFIG_ENTRY} is not valid JSON (${(e as Error).message})`);
  }
  return { config, entries };
}

/** Why an entry is refused, if it is: a name that could escape a folder, or a huge size. */
function entryProblem(name: string, originalSize: number): string | undefined {
  if (name.startsWith('/') || name.includes('\\') || /^[A-Za-z]:/.test(name) || name.split('/').includes('..')) {
    return `archive entry ${quoted(name)} has a path that escapes the archive`;
  }
  if (!Number.isSafeInteger(originalSize) || originalSize < 0 || originalSize > MAX_KERAS_ARCHIVE) {
    return `archive entry ${quoted(name)} declares ${originalSize} bytes, over the ${MAX_KERAS_ARCHIVE}-byte limit`;
  }
  return undefined;
}

/** An entry name as a short JSON string: a hostile name can hold newlines and control bytes. */
function quoted(name: string): string {
  return JSON.stringify(name.length > 120 ? `${name.slice(0, 120)}…` : name);
}

/** A file's bytes in 1 MB reads, so outputs are streamed rather than held whole. */
export async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    for (;;) {
      const buf = new Uint8Array(1 << 20);
      const { bytesRead } = await fh.read(buf, 0, buf.length);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** Streams an archive to `out`, entries stored uncompressed (as Keras writes them; weights barely deflate). */
export async function writeKerasArchive(out: OutputFile, entries: [string, Uint8Array | AsyncIterable<Uint8Array>][]): Promise<void> {
  const chunks: Uint8Array[] = [];
  let failure: Error | null = null;
  const zip = new Zip((err, chunk) => { if (err) failure = err; else chunks.push(chunk); });
  const flush = async (): Promise<void> => {
    if (failure) throw failure;
    for (const c of chunks.splice(0)) await out.write(c);
  };
  for (const [name, data] of entries) {
    const entry = new ZipPassThrough(name);
    zip.add(entry);
    if (data instanceof Uint8Array) {
      entry.push(data, true);
    } else {
      for await (const chunk of data) { entry.push(chunk); await flush(); }
      entry.push(new Uint8Array(0), true);
    }
    await flush();
  }
  zip.end();
  await flush();
}
