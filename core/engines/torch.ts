// The PyTorch engine: the maths runs in long-lived python/torch_worker.py processes, one per
// CUDA device (else one, on Apple MPS or the CPU). Matrices travel as raw bytes, or not at all:
// where the model stores a layer raw in a file, the worker reads it there and writes the
// factors to the job's scratch file itself (torchProtocol.ts). Concurrent calls are spread
// over the workers and pipelined through each, which reads the next matrix while it computes.
import { availableParallelism } from 'node:os';
import { transpose } from '../io/decode.js';
import { CancelledError, type JobOptions, type MatrixInFile } from '../types.js';
import {
  checkRank, svdArrays, type Engine, type FactorPlace, type FileCalls, type MatrixInput, type SpectrumOptions, type SvdOptions, type TruncatedSvd,
} from './engine.js';
import { parts, type FactorsValue, type ResultFrame, type Unnumbered, type WorkerRequest } from './torchProtocol.js';
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
  /**
   * Worker processes: default one per visible CUDA device, else one. REDUCIBLE_TORCH_WORKERS
   * sets it too; several CPU workers split the cores between them (how the scheduling is
   * tested without GPUs).
   */
  workers?: number;
  /**
   * More environment for the workers, over this process's: REDUCIBLE_TORCH_KEEP=0 (a bench
   * switch, python/torch_worker.py) stops spectra keeping their eigenvectors for the factors.
   */
  env?: Record<string, string>;
}

/** Requests each worker is given ahead: one being read, one computed, one written, one waiting. */
const AHEAD_PER_WORKER = 4;

/** One worker process and what it has been given and not yet answered. */
interface Slot {
  spawn: WorkerSpawn;
  worker: TorchWorker;
  /** The handshake of the current process; a restart replaces both together. */
  ready: Promise<unknown>;
  /** Elements of the matrices in flight there: a new request goes to the least loaded. */
  load: number;
  /** Requests it has been given (diagnostics, tests of the scheduling). */
  given: number;
}

function workersWanted(opts: TorchOptions): number | undefined {
  const n = opts.workers ?? (process.env.REDUCIBLE_TORCH_WORKERS ? Number(process.env.REDUCIBLE_TORCH_WORKERS) : undefined);
  return n !== undefined && Number.isInteger(n) && n >= 1 ? n : undefined;
}

export class TorchEngine implements Engine {
  readonly name = 'torch' as const;
  private readonly slots: Slot[];
  private nextId = 1;
  private sent = 0;
  /** Calls not yet answered: close() lets them finish first. */
  private readonly inflight = new Set<Promise<unknown>>();

  readonly files: FileCalls;

  private constructor(slots: Slot[], private readonly info: Hello) {
    this.slots = slots;
    this.files = {
      lanes: AHEAD_PER_WORKER * slots.length,
      spectrum: (m, opts) => this.spectrumInFile(m, opts),
      factors: (m, rank, into, opts) => this.factorsInFile(m, rank, into, opts),
    };
  }

  /** Starts the workers; fails with a one-line InputError when Python or torch is unusable. */
  static async start(opts: TorchOptions = {}): Promise<TorchEngine> {
    const base: WorkerSpawn = { python: resolvePython(opts.python), precision: opts.precision ?? 'auto', env: opts.env };
    const asked = workersWanted(opts);
    const threads = asked && asked > 1 ? Math.max(1, Math.floor(availableParallelism() / asked)) : undefined;
    const slot = (device: number): Slot => {
      const spawn = { ...base, device, threads };
      const worker = new TorchWorker(spawn);
      return { spawn, worker, ready: worker.hello, load: 0, given: 0 };
    };
    const first = slot(0);
    const info = await first.worker.hello;
    const n = asked ?? (info.gpu ? info.devices ?? 1 : 1);
    // The others start now and are waited for when first given work.
    return new TorchEngine([first, ...Array.from({ length: n - 1 }, (_, i) => slot(i + 1))], info);
  }

  /** E.g. "CUDA · NVIDIA H100", or "CUDA · NVIDIA H100 ×2" with two workers. */
  get description(): string { return this.slots.length > 1 ? `${this.info.device} ×${this.slots.length}` : this.info.device; }
  get gpu(): boolean { return this.info.gpu; }
  /** Process id of the first live worker, if any (diagnostics, tests). */
  get workerPid(): number | undefined { return this.slots[0].worker.pid; }
  /** Process ids of the workers (tests of the scheduling). */
  get workerPids(): (number | undefined)[] { return this.slots.map((s) => s.worker.pid); }
  /** Requests given to each worker so far (tests of the scheduling). */
  get requestsPerWorker(): number[] { return this.slots.map((s) => s.given); }
  /** Matrix bytes sent down the workers' pipes so far: none for matrices they read from files. */
  get bytesSent(): number { return this.sent; }

  async spectrum(m: MatrixInput, opts: SpectrumOptions = {}): Promise<Float64Array> {
    const f = await this.call({ op: 'spectrum', rows: m.rows, cols: m.cols, bytes: m.data.byteLength, keep: opts.keep }, m.data, opts);
    return parts(f).get('s') as Float64Array;
  }

  async truncatedSvd(m: MatrixInput, rank: number, opts: SvdOptions = {}): Promise<TruncatedSvd> {
    checkRank(m.rows, m.cols, rank);
    const f = await this.call({ op: 'svd', rows: m.rows, cols: m.cols, rank, bytes: m.data.byteLength, reuse: opts.reuse }, m.data, opts);
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

  private async spectrumInFile(m: MatrixInFile, opts: SpectrumOptions = {}): Promise<Float64Array> {
    const f = await this.call({ op: 'spectrum', rows: m.rows, cols: m.cols, bytes: 0, file: m, keep: opts.keep }, undefined, opts);
    return parts(f).get('s') as Float64Array;
  }

  private async factorsInFile(m: MatrixInFile, rank: number, into: FactorPlace, opts: SvdOptions = {}): Promise<{ s: Float64Array; energy: number }> {
    checkRank(m.rows, m.cols, rank);
    const f = await this.call({ op: 'factors', rows: m.rows, cols: m.cols, rank, bytes: 0, file: m, reuse: opts.reuse, into }, undefined, opts);
    return { s: parts(f).get('s') as Float64Array, energy: (f.header.value as FactorsValue).energy };
  }

  private call(req: Unnumbered, data: Float32Array | undefined, opts: JobOptions): Promise<ResultFrame> {
    const job = this.send(req, data, opts);
    this.inflight.add(job);
    const forget = (): void => { this.inflight.delete(job); };
    job.then(forget, forget);
    return job;
  }

  /**
   * Sends one request to the least loaded worker. Aborting kills that worker (a running torch
   * kernel cannot be interrupted otherwise), failing every call in flight there with
   * CancelledError; its next call starts a fresh one.
   */
  private async send(req: Unnumbered, data: Float32Array | undefined, opts: JobOptions): Promise<ResultFrame> {
    if (opts.signal?.aborted) throw new CancelledError();
    const slot = this.slots.reduce((a, b) => (b.load < a.load ? b : a));
    const load = req.rows * req.cols;
    slot.load += load;
    slot.given++;
    this.sent += data?.byteLength ?? 0;
    try {
      const worker = await this.live(slot);
      if (opts.signal?.aborted) throw new CancelledError();
      const onAbort = (): void => worker.kill(new CancelledError());
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        return await worker.request({ ...req, id: this.nextId++ } as WorkerRequest, data ?? new Uint8Array(0));
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
      }
    } finally {
      slot.load -= load;
    }
  }

  private async live(slot: Slot): Promise<TorchWorker> {
    if (slot.worker.pid === undefined) {
      slot.worker = new TorchWorker(slot.spawn);
      slot.ready = slot.worker.hello;
    }
    const worker = slot.worker;
    await slot.ready;
    return worker;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.inflight);
    await Promise.all(this.slots.map((s) => s.worker.close()));
  }
}
