// Worker threads that run the embedded engine's truncated SVDs, one job per thread at a
// time, spawned on demand up to a limit. Cancelling a running job terminates its thread
// (a running kernel cannot be interrupted otherwise).
import { Worker } from 'node:worker_threads';
import { CancelledError } from '../types.js';
import type { MatrixInput, TruncatedSvd } from './engine.js';
import { bundledWorkerPath } from '../io/bundledWorker.js';

export interface SvdRequest { id: number; data: Float32Array; rows: number; cols: number; rank: number }
export type SvdResponse = ({ ok: true } & TruncatedSvd & { id: number }) | { id: number; ok: false; error: string };

interface Job { req: SvdRequest; resolve: (r: TruncatedSvd) => void; reject: (e: Error) => void; thread?: Worker }

export class SvdPool {
  private readonly idle: Worker[] = [];
  private readonly running = new Set<Job>();
  private readonly queue: Job[] = [];
  private threads = 0;
  private nextId = 1;

  constructor(private readonly limit: number) {}

  run(m: MatrixInput, rank: number, signal?: AbortSignal): Promise<TruncatedSvd> {
    if (signal?.aborted) return Promise.reject(new CancelledError());
    return new Promise((resolve, reject) => {
      const job: Job = { req: { id: this.nextId++, data: m.data, rows: m.rows, cols: m.cols, rank }, resolve, reject };
      signal?.addEventListener('abort', () => this.cancel(job), { once: true });
      this.queue.push(job);
      this.pump();
    });
  }

  private cancel(job: Job): void {
    const qi = this.queue.indexOf(job);
    if (qi >= 0) this.queue.splice(qi, 1);
    else if (this.running.delete(job)) this.retire(job.thread!);
    else return;
    job.reject(new CancelledError());
    this.pump();
  }

  private retire(thread: Worker): void {
    thread.removeAllListeners();
    void thread.terminate();
    this.threads--;
  }

  private spawn(): Worker {
    const thread = new Worker(bundledWorkerPath('svdWorker.js'));
    this.threads++;
    thread.on('message', (res: SvdResponse) => {
      const job = [...this.running].find((j) => j.req.id === res.id);
      if (!job) return;
      this.running.delete(job);
      if (res.ok) job.resolve({ u: res.u, s: res.s, vt: res.vt });
      else job.reject(new Error(res.error));
      thread.unref();
      this.idle.push(thread);
      this.pump();
    });
    thread.on('error', (err: Error) => {
      for (const job of this.running) if (job.thread === thread) { this.running.delete(job); job.reject(err); }
      this.retire(thread);
      this.pump();
    });
    return thread;
  }

  private pump(): void {
    while (this.queue.length) {
      const thread = this.idle.pop() ?? (this.threads < this.limit ? this.spawn() : undefined);
      if (!thread) return;
      const job = this.queue.shift()!;
      job.thread = thread;
      this.running.add(job);
      thread.ref();
      thread.postMessage(job.req);
    }
  }

  async close(): Promise<void> {
    const all = [...this.idle, ...[...this.running].map((j) => j.thread!)];
    this.idle.length = 0;
    await Promise.all(all.map((t) => t.terminate()));
  }
}
