// Bounded random access to the bytes of one file or of several files read as one
// (TF.js weight shards). Readers never load a whole model into memory.
import { constants, type Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { InputError } from '../types.js';

export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Fills `into` with the bytes from `offset` on, where a source can do so without a buffer of its own. */
  readInto?(offset: number, into: Uint8Array): Promise<void>;
  /**
   * Where `length` bytes from `offset` lie whole in one regular file, for a process that reads
   * them there itself; undefined where they do not (in memory, inflated, across two files).
   */
  fileAt?(offset: number, length: number): { path: string; offset: number } | undefined;
  close(): Promise<void>;
}

/** Refuses single reads above this; a header or tensor claiming more is treated as hostile. */
export const MAX_READ = 2 ** 31 - 1;

export class FileSource implements ByteSource {
  private constructor(readonly path: string, private readonly fh: FileHandle, readonly size: number) {}

  /**
   * Opens a regular file for reading. Anything else (a FIFO, socket, device or folder) is
   * refused in one line naming it: it is checked before opening, and opened non-blocking and
   * checked again on the open handle, so a FIFO (or one swapped in meanwhile) never blocks
   * the open or a read.
   */
  fileAt(offset: number, length: number): { path: string; offset: number } | undefined {
    return offset >= 0 && length >= 0 && offset + length <= this.size ? { path: this.path, offset } : undefined;
  }

  static async open(path: string): Promise<FileSource> {
    const before = await stat(path).catch(() => undefined);
    if (before && !before.isFile()) throw notRegular(path, before);
    let fh: FileHandle;
    try {
      fh = await open(path, READ_FLAGS);
    } catch (e) {
      throw new InputError(path, `cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    const st = await fh.stat();
    if (!st.isFile()) { await fh.close(); throw notRegular(path, st); }
    return new FileSource(path, fh, st.size);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new InputError(this.path, `truncated or corrupt: read of ${length} bytes at ${offset} is outside the ${this.size}-byte file`);
    }
    if (length > MAX_READ) throw new InputError(this.path, `refusing a single ${length}-byte read`);
    const buf = new Uint8Array(length);
    await this.readInto(offset, buf);
    return buf;
  }

  async readInto(offset: number, into: Uint8Array): Promise<void> {
    const length = into.length;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > this.size) {
      throw new InputError(this.path, `truncated or corrupt: read of ${length} bytes at ${offset} is outside the ${this.size}-byte file`);
    }
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(into, done, Math.min(length - done, MAX_READ), offset + done);
      if (bytesRead === 0) throw new InputError(this.path, 'file shrank while reading');
      done += bytesRead;
    }
  }

  close(): Promise<void> { return this.fh.close(); }
}

/** Read-only, non-blocking (a FIFO opens at once instead of waiting for a writer), never a controlling terminal. */
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

export function notRegular(path: string, st: Stats): InputError {
  const kind = st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a folder' : st.isSocket() ? 'a socket'
    : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : 'of an unknown kind';
  return new InputError(path, `not a regular file (${kind})`);
}

/** All of a regular file's bytes (FileSource.open's checks), refused above `max` bytes. */
export async function readRegularFile(path: string, max = MAX_READ): Promise<Uint8Array> {
  const src = await FileSource.open(path);
  try {
    if (src.size > max) throw new InputError(path, `larger than the ${max}-byte limit`);
    return await src.read(0, src.size);
  } finally {
    await src.close();
  }
}

/** Several files addressed as one contiguous byte range, in order. */
export class ConcatSource implements ByteSource {
  readonly size: number;
  private readonly starts: number[] = [];
  constructor(private readonly parts: ByteSource[]) {
    let s = 0;
    for (const p of parts) { this.starts.push(s); s += p.size; }
    this.size = s;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new InputError(undefined, `weights truncated: need bytes ${offset}..${offset + length} of ${this.size}`);
    }
    const out = new Uint8Array(length);
    let pos = offset, filled = 0;
    while (filled < length) {
      let i = this.starts.length - 1;
      while (this.starts[i] > pos) i--;
      const inPart = pos - this.starts[i];
      const n = Math.min(length - filled, this.parts[i].size - inPart);
      out.set(await this.parts[i].read(inPart, n), filled);
      filled += n; pos += n;
    }
    return out;
  }

  fileAt(offset: number, length: number): { path: string; offset: number } | undefined {
    let i = this.starts.length - 1;
    while (i > 0 && this.starts[i] > offset) i--;
    return offset >= 0 ? this.parts[i]?.fileAt?.(offset - this.starts[i], length) : undefined;
  }

  async close(): Promise<void> { await Promise.all(this.parts.map((p) => p.close())); }
}

/** Bytes already in memory (tensors decoded from in-message number lists). */
export class MemorySource implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}
  get size(): number { return this.bytes.byteLength; }
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) throw new InputError(undefined, `read of ${length} bytes at ${offset} is outside a ${this.size}-byte buffer`);
    return this.bytes.slice(offset, offset + length);
  }
  async close(): Promise<void> {}
}
