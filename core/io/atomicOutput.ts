// Atomic multi-file output: each file is written to a temporary name in its final folder
// and renamed only when the whole job succeeds; on failure or cancellation every temporary
// is removed, so a job leaves either all its files or none. A job's scratch files (working
// data kept out of memory) live beside its temporaries and go away with them, committed or not.
import { open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { OutputFile, OutputSink } from '../compress/types.js';
import { InputError } from '../types.js';
import { isTrackedTemporary, trackTemporary, untrackTemporary } from './temporaries.js';


interface Pending { finalPath: string; tmp: string; fh: FileHandle; bytes: number }

/** A file of working data, read back at byte offsets; removed when the output commits or aborts. */
export interface ScratchFile {
  /** Where it is, for another thread to open (a worker writing there itself). */
  readonly path: string;
  /** Appends the bytes and resolves to the offset they start at; calls may overlap. */
  append(bytes: Uint8Array): Promise<number>;
  /** Fills `into` from `offset`. */
  read(offset: number, into: Uint8Array): Promise<void>;
}

export class AtomicOutput implements OutputSink {
  private readonly files: Pending[] = [];
  private readonly scratches: { path: string; fh: FileHandle }[] = [];

  /**
   * @param protect paths that must never be written (the model's own files).
   * @param startedAt when the job began (ms since the epoch): temporaries beside an output
   *   last changed before it are a killed run's, removed when that output is written.
   */
  constructor(private readonly protect: string[], private readonly force = false, private readonly startedAt = Date.now()) {}

  async file(finalPath: string): Promise<OutputFile> {
    if (this.protect.includes(finalPath)) throw new InputError(finalPath, 'output would overwrite an input file');
    if (!this.force && await stat(finalPath).then(() => true, () => false)) {
      throw new InputError(finalPath, 'output exists (use --force to replace it)', 'output-exists');
    }
    await removeStaleTemporaries(finalPath, this.startedAt);
    const tmp = tempBeside(finalPath, 'tmp');
    const fh = await create(tmp, 'wx');
    const p: Pending = { finalPath, tmp, fh, bytes: 0 };
    this.files.push(p);
    return {
      path: finalPath,
      write: async (chunk) => {
        await writeAll(fh, chunk, null, finalPath);
        p.bytes += chunk.length;
      },
    };
  }

  /** A scratch file beside `finalPath` (named like a temporary, so it is as easy to spot). */
  async scratch(finalPath: string): Promise<ScratchFile> {
    const path = tempBeside(finalPath, 'scratch.tmp');
    const fh = await create(path, 'wx+');
    this.scratches.push({ path, fh });
    let end = 0;
    return {
      path,
      append: async (bytes) => {
        // The offset is taken before any await, so overlapping appends never share bytes.
        const at = end;
        end += bytes.length;
        await writeAll(fh, bytes, at, finalPath);
        return at;
      },
      read: async (offset, into) => {
        for (let off = 0; off < into.length;) {
          const { bytesRead } = await fh.read(into, off, into.length - off, offset + off);
          if (!bytesRead) throw new Error(`scratch file ${path} ended early`);
          off += bytesRead;
        }
      },
    };
  }

  /** Bytes written per final path. */
  sizes(): Map<string, number> { return new Map(this.files.map((f) => [f.finalPath, f.bytes])); }

  async commit(): Promise<string[]> {
    // A file system that allocates late reports a full disk here rather than on write.
    for (const f of this.files) {
      try { await f.fh.sync(); await f.fh.close(); } catch (e) { throw writeFailure(e, f.finalPath); }
    }
    for (const f of this.files) { await rename(f.tmp, f.finalPath); untrackTemporary(f.tmp); }
    await this.dropScratches();
    return this.files.map((f) => f.finalPath);
  }

  async abort(): Promise<void> {
    for (const f of this.files) {
      await f.fh.close().catch(() => undefined);
      await rm(f.tmp, { force: true });
      untrackTemporary(f.tmp);
    }
    await this.dropScratches();
  }

  private async dropScratches(): Promise<void> {
    for (const s of this.scratches.splice(0)) {
      await s.fh.close().catch(() => undefined);
      await rm(s.path, { force: true });
      untrackTemporary(s.path);
    }
  }
}

/**
 * Writes all of `bytes` at `position` (null: the file's current position). A failure names
 * the output it was writing for: the system's message ("ENOSPC: no space left on device,
 * write") names no file, and a scratch file's name means nothing to the user.
 */
async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number | null, output: string): Promise<void> {
  try {
    for (let off = 0; off < bytes.length;) off += (await fh.write(bytes, off, bytes.length - off, position === null ? null : position + off)).bytesWritten;
  } catch (e) {
    throw writeFailure(e, output);
  }
}

/** Failures of the output's medium, not of the job: the user frees space (or quota) or chooses another -o. */
const OUTPUT_FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/**
 * A failed write, naming the output it was for. A full disk, an exhausted quota or a file over
 * the file system's size limit is bad output (exit 2, like an unwritable folder); anything
 * else (EIO) is a runtime failure.
 */
function writeFailure(e: unknown, output: string): Error {
  const { code, message } = e as NodeJS.ErrnoException;
  const what = `cannot write${code ? ` (${code})` : ''}: ${String(message).replace(/^[A-Z]+: /, '')}`;
  return code && OUTPUT_FULL.has(code) ? new InputError(output, what) : new Error(`${output}: ${what}`, { cause: e });
}

/** `.<name>.<8 hex>.tmp` or `.<name>.<8 hex>.scratch.tmp` beside the output `<name>`. */
const tempBeside = (finalPath: string, suffix: 'tmp' | 'scratch.tmp'): string =>
  join(dirname(finalPath), `.${basename(finalPath)}.${randomBytes(4).toString('hex')}.${suffix}`);

/** What follows `.<name>.` in tempBeside's names: the only names removeStaleTemporaries deletes. */
const STALE_TAIL = /^[0-9a-f]{8}\.(?:scratch\.)?tmp$/;

/**
 * Removes temporaries and scratch files that a killed run (SIGKILL, power loss) left beside
 * `finalPath`: files named exactly as tempBeside names them for this output, last changed
 * before `before` (ms since the epoch). Nothing else in the folder is touched; a file that
 * cannot be looked at or removed is left.
 */
export async function removeStaleTemporaries(finalPath: string, before: number): Promise<void> {
  const dir = dirname(finalPath), name = `.${basename(finalPath)}.`;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const n of names) {
    if (!n.startsWith(name) || !STALE_TAIL.test(n.slice(name.length))) continue;
    const path = join(dir, n);
    if (isTrackedTemporary(path)) continue;
    const st = await stat(path).catch(() => undefined);
    if (st?.isFile() && st.mtimeMs < before) await rm(path, { force: true }).catch(() => undefined);
  }
}

async function create(path: string, flags: string): Promise<FileHandle> {
  try {
    const fh = await open(path, flags);
    trackTemporary(path);
    return fh;
  } catch (e) {
    throw new InputError(dirname(path), `cannot write output here (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
}
