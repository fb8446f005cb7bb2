// The default engine: our own f64 kernels on a pool of worker threads. Needs no native
// install; one worker per core so layers are analysed (and factorised) in parallel, and a
// job that finds cores idle splits its kernels over them with helper threads. Spectra and
// truncated SVDs share this one pool, so one place decides how many threads run.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { CancelledError, type JobOptions } from '../types.js';
import { checkRank, type Engine, type MatrixInput, type SpectrumOptions, type SvdOptions, type TruncatedSvd } from './engine.js';
import type { WorkerRequest, WorkerResponse, WorkerResult, WorkerStart } from './workerProtocol.js';
import { bundledWorkerPath } from '../io/bundledWorker.js';

interface Pending { resolve: (v: WorkerResult) => void; reject: (e: Error) => void; worker: PoolWorker }
interface PoolWorker { worker: Worker; busy: boolean }

export class EmbeddedEngine implements Engine {
  readonly name = 'embedded' as const;
  readonly description: string;
  private readonly size: number;
  private readonly pool: PoolWorker[] = [];
  private readonly queue: { req: WorkerRequest; pending: Omit<Pending, 'worker'>; signal?: AbortSignal }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(workers = Math.max(1, availableParallelism())) {
    this.size = workers;
    this.description = `CPU · embedded f64 kernels · ${workers} worker${workers > 1 ? 's' : ''}`;
    // The first worker and the helpers a lone job takes start now, while the caller opens and
    // reads its model, instead of after the first layer arrives (≈ 2 × tens of ms of start-up).
    this.spawn({ warmHelpers: workers - 1 });
  }

  spectrum(m: MatrixInput, opts: SpectrumOptions = {}): Promise<Float64Array> {
    return this.submit({ id: this.nextId++, op: 'spectrum', data: m.data, rows: m.rows, cols: m.cols, keep: opts.keep }, opts) as Promise<Float64Array>;
  }

  truncatedSvd(m: MatrixInput, rank: number, opts: SvdOptions = {}): Promise<TruncatedSvd> {
    try {
      checkRank(m.rows, m.cols, rank);
      // Posted memory that is not shared would be copied: the worker's results would never reach it.
      if (opts.into && !(opts.into.buffer instanceof SharedArrayBuffer)) throw new TypeError('truncatedSvd: `into` must be shared memory');
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return this.submit({ id: this.nextId++, op: 'svd', data: m.data, rows: m.rows, cols: m.cols, rank, transposed: m.transposed, into: opts.into, reuse: opts.reuse }, opts) as Promise<TruncatedSvd>;
  }

  private submit(req: WorkerRequest, opts: JobOptions): Promise<WorkerResult> {
    if (opts.signal?.aborted) return Promise.reject(new CancelledError());
    return new Promise((resolve, reject) => {
      const { signal } = opts;
      const onAbort = (): void => this.cancel(req.id);
      const settle = { resolve: (v: WorkerResult) => { signal?.removeEventListener('abort', onAbort); resolve(v); },
        reject: (e: Error) => { signal?.removeEventListener('abort', onAbort); reject(e); } };
      this.queue.push({ req, pending: settle, signal });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pump();
    });
  }

  private cancel(id: number): void {
    const qi = this.queue.findIndex((q) => q.req.id === id);
    if (qi >= 0) { this.queue.splice(qi, 1)[0].pending.reject(new CancelledError()); return; }
    const p = this.pending.get(id);
    if (!p) return;
    // A running kernel cannot be interrupted: replace its worker.
    this.pending.delete(id);
    void p.worker.worker.terminate();
    this.pool.splice(this.pool.indexOf(p.worker), 1);
    p.reject(new CancelledError());
    this.pump();
  }

  private spawn(start: WorkerStart = {}): PoolWorker {
    const pw: PoolWorker = { worker: new Worker(bundledWorkerPath('worker.js'), { workerData: start }), busy: false };
    pw.worker.on('message', (res: WorkerResponse) => {
      const p = this.pending.get(res.id);
      this.pending.delete(res.id);
      pw.busy = false;
      if (p) {
        if (!res.ok) p.reject(new Error(res.error));
        else p.resolve(res.values ?? { u: res.u, s: res.s, vt: res.vt });
      }
      this.pump();
    });
    pw.worker.on('error', (err: Error) => {
      for (const [id, p] of this.pending) if (p.worker === pw) { this.pending.delete(id); p.reject(err); }
      const i = this.pool.indexOf(pw);
      if (i >= 0) this.pool.splice(i, 1);
      this.pump();
    });
    pw.worker.unref();
    this.pool.push(pw);
    return pw;
  }

  private pump(): void {
    while (this.queue.length) {
      let w = this.pool.find((p) => !p.busy);
      if (!w && this.pool.length < this.size) w = this.spawn();
      if (!w) return;
      const { req, pending } = this.queue.shift()!;
      // A lone job may split itself over the cores no other job is using or waiting for.
      req.threads = Math.max(1, this.size - this.pool.filter((p) => p.busy).length - this.queue.length);
      w.busy = true;
      w.worker.ref();
      this.pending.set(req.id, { ...pending, worker: w });
      // Layers arrive in shared memory (core/io/layerBuffers.ts): the worker sees them without a copy.
      w.worker.postMessage(req);
    }
    for (const p of this.pool) if (!p.busy) p.worker.unref();
  }

  async close(): Promise<void> {
    await Promise.all(this.pool.map((p) => p.worker.terminate()));
    this.pool.length = 0;
  }
}
