// The Keras 3 `.keras` zip: `metadata.json`, `config.json`, `model.weights.h5` and, for
// layers that own files, `assets/…`. Read through containers/zip.ts, which checks every name,
// size and offset against the file before trusting it: the weights are inflated step by step
// into a temporary file (libhdf5 needs a real file) and stopped at the first byte past their
// declared size, so memory stays at one chunk whatever an entry would expand to; the other
// entries are small and held in memory under a cap.
import { open } from 'node:fs/promises';
import { Zip, ZipPassThrough } from 'fflate';
import { FileSource } from '../../io/byteSource.js';
import type { OutputFile } from '../../compress/types.js';
import { InputError } from '../../types.js';
import { ZipArchive } from '../containers/zip.js';

export const MAX_KERAS_ARCHIVE = 2 ** 31 - 1;
const MAX_JSON_ENTRY = 64 * 1024 * 1024;
/** What the entries besides the weights (config, metadata, assets such as vocabularies) may hold in all. */
const MAX_OTHER_ENTRIES = 256 * 1024 * 1024;
/**
 * How many times its compressed size deflated weights may declare. HDF5 files of float weights
 * barely deflate (a pruned, mostly-zero kernel: ~10×); a file of zeros reaches ~1000×, which
 * is a decompression bomb (the HDF5 reader's cap on filtered datasets is the same 100×).
 */
const MAX_WEIGHTS_INFLATION = 100;
/** The weights are copied to their temporary file this many bytes at a time. */
const COPY_CHUNK = 8 * 1024 * 1024;
export const CONFIG_ENTRY = 'config.json';
export const WEIGHTS_ENTRY = 'model.weights.h5';

export interface KerasArchive {
  config: unknown;
  /**
   * Every entry, in archive order (the writer copies the ones it does not change); the weights'
   * bytes are in the temporary file they were inflated to, and their entry here is empty.
   */
  entries: Map<string, Uint8Array>;
}

/** Reads the archive at `path`, inflating its weights into the new file `weightsTo`. */
export async function readKerasArchive(path: string, weightsTo: string): Promise<KerasArchive> {
  const src = await FileSource.open(path);
  try {
    if (src.size > MAX_KERAS_ARCHIVE) throw new InputError(path, `archive is larger than the ${MAX_KERAS_ARCHIVE}-byte limit`);
    const zip = await ZipArchive.open(src, path);
    const config = zip.entries.get(CONFIG_ENTRY), weights = zip.entries.get(WEIGHTS_ENTRY);
    if (!config) throw new InputError(path, `not a Keras 3 archive: no ${CONFIG_ENTRY}`);
    if (!weights) throw new InputError(path, `not a Keras 3 archive: no ${WEIGHTS_ENTRY}`);
    if (config.size > MAX_JSON_ENTRY) throw new InputError(path, `${CONFIG_ENTRY} is larger than 64 MB`);
    if (weights.size > MAX_KERAS_ARCHIVE) throw new InputError(path, `${WEIGHTS_ENTRY} declares ${weights.size} bytes, over the ${MAX_KERAS_ARCHIVE}-byte limit`);
    if (weights.method === 8 && weights.size > weights.compressedSize * MAX_WEIGHTS_INFLATION + COPY_CHUNK) {
      throw new InputError(path, `${WEIGHTS_ENTRY} declares ${weights.size} bytes from ${weights.compressedSize} compressed, over ${MAX_WEIGHTS_INFLATION}× (a decompression bomb)`);
    }
    const held = [...zip.entries.values()].reduce((sum, e) => sum + (e === weights ? 0 : e.size), 0);
    if (held > MAX_OTHER_ENTRIES) throw new InputError(path, `entries besides the weights declare ${held} bytes in all, over the ${MAX_OTHER_ENTRIES}-byte limit`);
    const entries = new Map<string, Uint8Array>();
    for (const e of zip.entries.values()) entries.set(e.name, e === weights ? new Uint8Array(0) : await zip.read(e, MAX_OTHER_ENTRIES));
    const out = await open(weightsTo, 'wx');
    try {
      for await (const chunk of zip.chunks(weights, COPY_CHUNK)) await out.write(chunk);
    } finally {
      await out.close();
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(entries.get(CONFIG_ENTRY)));
    } catch (e) {
      throw new InputError(path, `${CONFIG_ENTRY} is not valid JSON (${(e as Error).message})`);
    }
    return { config: parsed, entries };
  } finally {
    await src.close();
  }
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
