// Atomic multi-file output: each file is written to a temporary name in its final folder
// and renamed only when the whole job succeeds; on failure or cancellation every temporary
// is removed, so a job leaves either all its files or none.
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { OutputFile, OutputSink } from '../compress/types.js';
import { InputError } from '../types.js';

interface Pending { finalPath: string; tmp: string; fh: FileHandle; bytes: number }

export class AtomicOutput implements OutputSink {
  private readonly files: Pending[] = [];

  /** @param protect paths that must never be written (the model's own files). */
  constructor(private readonly protect: string[], private readonly force = false) {}

  async file(finalPath: string): Promise<OutputFile> {
    if (this.protect.includes(finalPath)) throw new InputError(finalPath, 'output would overwrite an input file');
    if (!this.force && await stat(finalPath).then(() => true, () => false)) {
      throw new InputError(finalPath, 'output exists (use --force to replace it)');
    }
    const tmp = join(dirname(finalPath), `.${basename(finalPath)}.${randomBytes(4).toString('hex')}.tmp`);
    let fh: FileHandle;
    try {
      fh = await open(tmp, 'wx');
    } catch (e) {
      throw new InputError(dirname(finalPath), `cannot write output here (${(e as NodeJS.ErrnoException).code ?? e})`);
    }
    const p: Pending = { finalPath, tmp, fh, bytes: 0 };
    this.files.push(p);
    return {
      path: finalPath,
      write: async (chunk) => {
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
        p.bytes += chunk.length;
      },
    };
  }

  /** Bytes written per final path. */
  sizes(): Map<string, number> { return new Map(this.files.map((f) => [f.finalPath, f.bytes])); }

  async commit(): Promise<string[]> {
    for (const f of this.files) { await f.fh.sync(); await f.fh.close(); }
    for (const f of this.files) await rename(f.tmp, f.finalPath);
    return this.files.map((f) => f.finalPath);
  }

  async abort(): Promise<void> {
    for (const f of this.files) {
      await f.fh.close().catch(() => undefined);
      await rm(f.tmp, { force: true });
    }
  }
}
