// The PyTorch engine: the maths runs in one long-lived python/torch_worker.py per job, on
// CUDA when available, else Apple MPS, else CPU. Matrices travel as raw bytes (see
// torchProtocol.ts); concurrent calls are pipelined through the one worker, which
// prefetches the next matrices while it computes.
import { transpose } from '../io/decode.js';
import { CancelledError, type JobOptions } from '../types.js';
import { checkRank, svdArrays, type Engine, type SvdOptions, type MatrixInput, type TruncatedSvd } from './engine.js';
import { parts, type ResultFrame, type Unnumbered, type WorkerRequest } from './torchProtocol.js';
import { resolvePython, TorchWorker, type Hello, type Precision, type WorkerSpawn } from './torchWorker.js';

export interface TorchOptions {
  /** Interpreter path; see resolvePython for the fallbacks. */
  python?: string;
  /**
   * Precision of the truncated SVD's big products: `auto` (default) uses f64 where the
   * device runs it at full speed (CPUs, A100/H100-class GPUs) and f32 elsewhere. Spectra
   * and small factorisations are always f64.
   */
  precision?: Precision;
}

export class TorchEngine implements Engine {
  readonly name = 'torch' as const;
  private worker: TorchWorker;
  /** The handshake of the current worker; a restart replaces both together. */
  private ready: Promise<unknown>;
  private nextId = 1;
  /** Calls not yet answered: close() lets them finish first. */
  private readonly inflight = new Set<Promise<unknown>>();

  private constructor(private readonly spawnWith: WorkerSpawn, first: TorchWorker, private readonly info: Hello) {
    this.worker = first;
    this.ready = first.hello;
  }

  /** Starts the worker and waits for its handshake; fails with a one-line InputError when Python or torch is unusable. */
  static async start(opts: TorchOptions = {}): Promise<TorchEngine> {
    const spawnWith: WorkerSpawn = { python: resolvePython(opts.python), precision: opts.precision ?? 'auto' };
    const worker = new TorchWorker(spawnWith);
    return new TorchEngine(spawnWith, worker, await worker.hello);
  }

  /** E.g. "CUDA · NVIDIA H100" or "CPU · torch 1.13". */
  get description(): string { return this.info.device; }
  get gpu(): boolean { return this.info.gpu; }
  /** Process id of the live worker, if any (diagnostics, tests). */
  get workerPid(): number | undefined { return this.worker.pid; }

  async spectrum(m: MatrixInput, opts: JobOptions = {}): Promise<Float64Array> {
    const f = await this.call({ op: 'spectrum', rows: m.rows, cols: m.cols, bytes: m.data.byteLength }, m.data, opts);
    return parts(f).get('s') as Float64Array;
  }

  async truncatedSvd(m: MatrixInput, rank: number, opts: SvdOptions = {}): Promise<TruncatedSvd> {
    checkRank(m.rows, m.cols, rank);
    const f = await this.call({ op: 'svd', rows: m.rows, cols: m.cols, rank, bytes: m.data.byteLength }, m.data, opts);
    const p = parts(f);
    const u = p.get('u') as Float32Array, s = p.get('s') as Float64Array, vt = p.get('vt') as Float32Array;
    // Of the stored transpose: B = Sᵀ = V·Σ·Uᵀ.
    const r = m.transposed ? { u: transpose(vt, s.length, m.cols), s, vt: transpose(u, m.rows, s.length) } : { u, s, vt };
    if (!opts.into) return r;
    const out = m.transposed ? svdArrays(m.cols, m.rows, s.length, opts.into) : svdArrays(m.rows, m.cols, s.length, opts.into);
    out.u.set(r.u);
    out.vt.set(r.vt);
    return { u: out.u, s, vt: out.vt };
  }

  private call(req: Unnumbered, data: Float32Array, opts: JobOptions): Promise<ResultFrame> {
    const job = this.send(req, data, opts);
    this.inflight.add(job);
    const forget = (): void => { this.inflight.delete(job); };
    job.then(forget, forget);
    return job;
  }

  /**
   * Sends one request. Aborting kills the worker (a running torch kernel cannot be
   * interrupted otherwise), failing every call in flight with CancelledError; the next
   * call starts a fresh worker.
   */
  private async send(req: Unnumbered, data: Float32Array, opts: JobOptions): Promise<ResultFrame> {
    if (opts.signal?.aborted) throw new CancelledError();
    const worker = await this.liveWorker();
    if (opts.signal?.aborted) throw new CancelledError();
    const onAbort = (): void => worker.kill(new CancelledError());
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await worker.request({ ...req, id: this.nextId++ } as WorkerRequest, data);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async liveWorker(): Promise<TorchWorker> {
    if (this.worker.pid === undefined) {
      this.worker = new TorchWorker(this.spawnWith);
      this.ready = this.worker.hello;
    }
    const worker = this.worker;
    await this.ready;
    return worker;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.inflight);
    await this.worker.close();
  }
}
