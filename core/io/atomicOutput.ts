// Atomic multi-file output: each file is written to a temporary name in its final folder
// and renamed only when the whole job succeeds; on failure or cancellation every temporary
// is removed, so a job leaves either all its files or none. An output that is a folder (a
// Hugging Face model folder) is written whole in a temporary folder beside it and renamed at
// commit, so the folder itself appears only then. A job's scratch files (working data kept out
// of memory) live beside its temporaries and go away with them, committed or not.
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { OutputFile, OutputSink } from '../compress/types.js';
import { InputError } from '../types.js';
import { isTrackedTemporary, removeTemporaryFolder, trackTemporary, untrackTemporary } from './temporaries.js';


/** `target`: where `tmp` is renamed at commit (the final path, or its place in a staged folder). */
interface Pending { finalPath: string; target: string; tmp: string; fh: FileHandle; bytes: number }

/** An output folder being written: its files go to `staging`, renamed to `finalPath` at commit. */
interface StagedFolder { finalPath: string; staging: string }

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

/** Whether `path` is `folder` or lies inside it. */
const within = (path: string, folder: string): boolean => {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** A file of working data, read back at byte offsets; removed when the output commits or aborts. */
export interface ScratchFile {
  /** Where it is, for another thread to open (a worker writing there itself). */
  readonly path: string;
  /** Appends the bytes and resolves to the offset they start at; calls may overlap. */
  append(bytes: Uint8Array): Promise<number>;
  /** Reserves `bytes` for another process to write (they read as zeros until it does); returns their offset. */
  reserve(bytes: number): number;
  /** Fills `into` from `offset`. */
  read(offset: number, into: Uint8Array): Promise<void>;
}

export class AtomicOutput implements OutputSink {
  private readonly files: Pending[] = [];
  private readonly folders: StagedFolder[] = [];
  private readonly scratches: { path: string; fh: FileHandle }[] = [];

  /**
   * @param protect paths that must never be written (the model's own files).
   * @param startedAt when the job began (ms since the epoch): temporaries beside an output
   *   last changed before it are a killed run's, removed when that output is written.
   */
  constructor(private readonly protect: string[], private readonly force = false, private readonly startedAt = Date.now()) {}

  async file(finalPath: string): Promise<OutputFile> {
    if (this.protect.includes(finalPath)) throw new InputError(finalPath, 'output would overwrite an input file');
    const folder = this.folders.find((f) => within(finalPath, f.finalPath));
    // A file of a staged folder goes into the staging folder, new and private: nothing there to replace or clear.
    const target = folder ? join(folder.staging, relative(folder.finalPath, finalPath)) : finalPath;
    if (!folder) await this.checkFree(finalPath);
    const tmp = tempBeside(target, 'tmp');
    const fh = await create(tmp, 'wx');
    const p: Pending = { finalPath, target, tmp, fh, bytes: 0 };
    this.files.push(p);
    return {
      path: finalPath,
      write: async (chunk) => {
        await writeAll(fh, chunk, null, finalPath);
        p.bytes += chunk.length;
      },
    };
  }

  /**
   * Makes `finalPath` an output folder: files written under it (file()) go into a temporary
   * folder beside it, which becomes `finalPath` at commit (replacing what is there, with force)
   * and is removed on abort.
   */
  async folder(finalPath: string): Promise<void> {
    if (this.protect.some((p) => within(p, finalPath))) throw new InputError(finalPath, 'output folder would hold or replace an input file');
    await this.checkFree(finalPath);
    const staging = tempBeside(finalPath, 'tmp');
    try {
      await mkdir(staging);
    } catch (e) {
      throw new InputError(dirname(finalPath), `cannot write output here (${(e as NodeJS.ErrnoException).code ?? e})`);
    }
    trackTemporary(staging);
    this.folders.push({ finalPath, staging });
  }

  /** Refuses an existing output without force; clears a killed run's temporaries for it. */
  private async checkFree(finalPath: string): Promise<void> {
    if (!this.force && await exists(finalPath)) throw new InputError(finalPath, 'output exists (use --force to replace it)', 'output-exists');
    await removeStaleTemporaries(finalPath, this.startedAt);
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
      reserve: (bytes) => {
        const at = end;
        end += bytes;
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
    for (const f of this.files) { await rename(f.tmp, f.target); untrackTemporary(f.tmp); }
    for (const f of this.folders) await replaceWith(f.staging, f.finalPath);
    await this.dropScratches();
    return this.files.map((f) => f.finalPath);
  }

  async abort(): Promise<void> {
    for (const f of this.files) {
      await f.fh.close().catch(() => undefined);
      await rm(f.tmp, { force: true });
      untrackTemporary(f.tmp);
    }
    for (const f of this.folders) await removeTemporaryFolder(f.staging);
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
 * Renames the folder `staging` to `finalPath`. Something already there (only with force) is
 * first moved aside under a temporary name, then removed: a folder cannot be renamed over a
 * folder that has files.
 */
async function replaceWith(staging: string, finalPath: string): Promise<void> {
  if (await exists(finalPath)) {
    const aside = tempBeside(finalPath, 'tmp');
    await rename(finalPath, aside);
    trackTemporary(aside);
    await rename(staging, finalPath);
    untrackTemporary(staging);
    await removeTemporaryFolder(aside);
    return;
  }
  await rename(staging, finalPath);
  untrackTemporary(staging);
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
 * `finalPath`: files (and a staged output folder) named exactly as tempBeside names them for
 * this output, last changed before `before` (ms since the epoch). Nothing else in the folder
 * is touched; a file that cannot be looked at or removed is left.
 */
export async function removeStaleTemporaries(finalPath: string, before: number): Promise<void> {
  const dir = dirname(finalPath), name = `.${basename(finalPath)}.`;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const n of names) {
    if (!n.startsWith(name) || !STALE_TAIL.test(n.slice(name.length))) continue;
    const path = join(dir, n);
    if (isTrackedTemporary(path)) continue;
    const st = await stat(path).catch(() => undefined);
    if ((st?.isFile() || st?.isDirectory()) && st.mtimeMs < before) await rm(path, { force: true, recursive: true }).catch(() => undefined);
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
