// HDF5 files opened in a worker thread (containers/h5Thread.ts), so that a corrupt file on which
// libhdf5 loops or grows without bound costs a one-line refusal instead of a hung CLI or
// language server: every request has a deadline, the worker a heap cap, and a worker that
// passes either, or in which libhdf5 trapped, is terminated. Each open file has a worker to
// itself (one file's failure cannot take another's down); a closed file's worker is kept for
// the next one, because starting one (loading libhdf5's WebAssembly) takes 0.1–0.5 s.
import { Worker } from 'node:worker_threads';
import { bundledWorkerPath } from '../../io/bundledWorker.js';
import { InputError } from '../../types.js';
import { H5_READY, type H5Payload, type H5Request, type H5Response } from './h5Protocol.js';
import type { H5Group } from './h5Tree.js';

export interface Hdf5Limits {
  /** Time an open, close, or read of a small dataset may take. */
  timeoutMs: number;
  /** Extra time per byte a dataset read gets (a large weight takes a while to copy out). */
  msPerMB: number;
  /** The worker's JavaScript heap cap (libhdf5's own memory is capped by h5wasm at 2 GiB). */
  heapMb: number;
}

const limits: Hdf5Limits = { timeoutMs: 10_000, msPerMB: 50, heapMb: 1024 };
/** The longest deadline a request gets: an hour. */
const MAX_TIMEOUT_MS = 3_600_000;
/** A worker still loading libhdf5 after this long is not coming (a badly overloaded machine). */
const START_TIMEOUT_MS = 120_000;

/** Changes the limits for files opened from now on (the fuzzer wants them short). */
export function setHdf5Limits(l: Partial<Hdf5Limits>): void { Object.assign(limits, l); }

const idle: Worker[] = [];
const MAX_IDLE = 1;

type Request = H5Request extends infer R ? R extends { id: number } ? Omit<R, 'id'> : never : never;
interface Pending { resolve: (r: H5Payload) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

/** A worker that has loaded libhdf5. */
function startWorker(shownAs: string): Promise<Worker> {
  const w = new Worker(bundledWorkerPath('h5Worker.js'), { resourceLimits: { maxOldGenerationSizeMb: limits.heapMb } });
  w.unref();
  return new Promise((resolve, reject) => {
    const done = (): void => { clearTimeout(timer); w.off('message', onMessage).off('error', onError); };
    const fail = (why: string): void => { done(); void w.terminate(); reject(new InputError(shownAs, why)); };
    const onMessage = (m: unknown): void => { if (m === H5_READY) { done(); resolve(w); } else fail('HDF5 reader did not start'); };
    const onError = (e: Error): void => fail(`HDF5 reader did not start (${e.message})`);
    const timer = setTimeout(() => fail(`HDF5 reader did not start in ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
    w.on('message', onMessage).on('error', onError);
  });
}

export class RemoteH5 {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Why the worker is gone: every later request fails with it. */
  private dead: InputError | undefined;

  private tree: H5Group | undefined;

  private constructor(private readonly worker: Worker, readonly shownAs: string) { this.listen(); }

  /** Opens `path` read-only; `shownAs` names it in refusals (e.g. `m.keras:model.weights.h5`). */
  static async open(path: string, shownAs: string = path): Promise<RemoteH5> {
    const file = new RemoteH5(idle.pop() ?? await startWorker(shownAs), shownAs);
    try {
      file.tree = (await file.request({ op: 'open', path, shownAs }, limits.timeoutMs)).root!;
    } catch (e) {
      file.release();
      throw e;
    }
    return file;
  }

  /** The file's groups, datasets and attributes. */
  get root(): H5Group { return this.tree!; }

  /** All bytes of the numeric dataset at `path` (`bytes` long, which sets the deadline). */
  async read(path: string, bytes: number): Promise<Uint8Array> {
    // Capped: setTimeout fires at once past 2³¹ ms, and a declared size can be absurd (the worker refuses those).
    return (await this.request({ op: 'read', path }, Math.min(MAX_TIMEOUT_MS, limits.timeoutMs + limits.msPerMB * bytes / 2 ** 20))).bytes!;
  }

  async close(): Promise<void> {
    if (this.dead) return;
    try {
      await this.request({ op: 'close' }, limits.timeoutMs);
    } finally {
      this.release();
    }
  }

  private readonly onMessage = (r: H5Response): void => {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    clearTimeout(p.timer);
    if (r.ok) { p.resolve(r); return; }
    // A refusal's message already names the file.
    const e = r.refusal !== undefined ? new InputError(undefined, r.refusal) : new Error(`HDF5 worker: ${r.error}`);
    if (r.retire) this.retire(new InputError(this.shownAs, 'HDF5 reader was stopped after libhdf5 trapped on this file'));
    p.reject(e);
  };

  private readonly onError = (e: Error): void => this.fail(/memory limit|out of memory/i.test(e.message)
    ? 'HDF5 reader ran out of memory (corrupt file?)'
    : `HDF5 reader failed (${e.message.split('\n')[0]})`);

  private readonly onExit = (code: number): void => this.fail(`HDF5 reader stopped (exit code ${code})`);

  private listen(): void { this.worker.on('message', this.onMessage).on('error', this.onError).on('exit', this.onExit); }

  private unlisten(): void { this.worker.off('message', this.onMessage).off('error', this.onError).off('exit', this.onExit); }

  private request(req: Request, timeoutMs: number): Promise<H5Payload> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(`HDF5 reader did not finish in ${+(timeoutMs / 1000).toFixed(1)} s (corrupt file?)`), timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.worker.postMessage({ ...req, id } as H5Request);
    });
  }

  /** Stops the worker (libhdf5 cannot be interrupted any other way); `why` fails every request from now on. */
  private fail(why: string): void { this.retire(new InputError(this.shownAs, why)); }

  private retire(dead: InputError): void {
    if (this.dead) return;
    this.dead = dead;
    this.unlisten();
    void this.worker.terminate();
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(this.dead); }
    this.pending.clear();
  }

  /** Hands a healthy worker (no file open) to the next file. */
  private release(): void {
    if (this.dead) return;
    this.unlisten();
    if (idle.length < MAX_IDLE) idle.push(this.worker);
    else void this.worker.terminate();
  }
}
