// One python/torch_worker.py process: start-up handshake, request/response routing in
// order, and clear errors when the interpreter, torch, or the process itself fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InputError } from '../types.js';
import { bytesOf, encodeHeader, FrameReader, type Frame, type ResultFrame } from './torchProtocol.js';
import { MALLOC_REUSE } from '../io/mallocReuse.js';

/** `--python` / `reducible.pythonPath`, else REDUCIBLE_PYTHON, else Debian's python3, else PATH. */
export function resolvePython(explicit?: string): string {
  if (explicit) return explicit;
  if (process.env.REDUCIBLE_PYTHON) return process.env.REDUCIBLE_PYTHON;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** From the dist/ bundles the script is at ../python/; from sources at ../../python/. */
export function workerScript(name = 'torch_worker.py'): string {
  for (const rel of [`../python/${name}`, `../../python/${name}`]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error(`python/${name} is missing from this installation`);
}

/** `devices`: how many devices of its kind the worker sees (CUDA devices; 1 otherwise). */
export interface Hello { device: string; gpu: boolean; torch: string; devices?: number }
export type Precision = 'auto' | 'f32' | 'f64';
/**
 * `script`: the worker (python/<script>, default torch_worker.py; the model runner's is
 * torch_runner.py). `device`: which CUDA device it uses (default 0); `threads`: its CPU threads
 * (default torch's), where several workers share the cores. `env`: more environment for the
 * process, over Node's (e.g. the worker's bench switch REDUCIBLE_TORCH_KEEP).
 */
export interface WorkerSpawn { python: string; precision: Precision; script?: string; device?: number; threads?: number; env?: Record<string, string> }

const START_TIMEOUT_MS = 120_000;

const STDERR_KEEP = 4096;

interface Pending { resolve: (f: ResultFrame) => void; reject: (e: Error) => void }

export class TorchWorker {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private stderr = '';
  /** False from the moment the process is killed or found dead. */
  private alive = true;
  /** Set once we kill the process on purpose, so its exit is not reported as a crash. */
  private killedWith: Error | undefined;
  readonly hello: Promise<Hello>;

  private readonly python: string;

  constructor({ python, precision, script, device, threads, env }: WorkerSpawn) {
    this.python = python;
    this.child = spawn(python, ['-u', workerScript(script)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...MALLOC_REUSE, ...process.env, REDUCIBLE_TORCH_PRECISION: precision,
        ...(device !== undefined ? { REDUCIBLE_TORCH_DEVICE: String(device) } : {}),
        ...(threads !== undefined ? { REDUCIBLE_TORCH_THREADS: String(threads) } : {}),
        ...env,
      },
    });
    const reader = new FrameReader();
    let started: { resolve: (h: Hello) => void; reject: (e: Error) => void };
    this.hello = new Promise((resolve, reject) => { started = { resolve, reject }; });
    // A rejected handshake must not surface as unhandled when nobody awaits it yet.
    this.hello.catch(() => undefined);
    const timer = setTimeout(() => {
      started.reject(new InputError(undefined, `${python} did not start the PyTorch worker within ${START_TIMEOUT_MS / 1000} s`));
      this.kill(new Error('start-up timed out'));
    }, START_TIMEOUT_MS);
    timer.unref();

    this.child.stdout!.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = reader.push(chunk);
      } catch {
        this.kill(new Error(`PyTorch worker (${python}) sent a malformed reply`));
        return;
      }
      for (const f of frames) {
        const h = f.header;
        if (h.type === 'hello') { clearTimeout(timer); started.resolve(h); continue; }
        if (h.type === 'fatal') { clearTimeout(timer); started.reject(new InputError(undefined, `PyTorch engine: ${python}: ${h.error}`)); continue; }
        const p = this.pending.get(h.id);
        this.pending.delete(h.id);
        if (!p) continue;
        if (h.type === 'result') p.resolve({ header: h, payload: f.payload });
        // An error about a file the user gave (their module, its checkpoint) is bad input.
        else p.reject(h.file ? new InputError(h.file, h.error) : new Error(`PyTorch worker: ${h.error}`));
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_KEEP);
    });
    // Writes after the process died fail with EPIPE; the exit handler reports the real cause.
    this.child.stdin!.on('error', () => undefined);
    this.child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      this.alive = false;
      const e = err.code === 'ENOENT'
        ? new InputError(undefined, `Python interpreter "${python}" was not found; pass --python or set REDUCIBLE_PYTHON`)
        : new InputError(undefined, `cannot start ${python}: ${err.message}`);
      started.reject(e);
      this.failAll(e);
    });
    this.child.on('close', (code, signal) => {
      clearTimeout(timer);
      this.alive = false;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      const detail = this.lastStderrLine();
      started.reject(new InputError(undefined, `${python} exited (${how}) before the PyTorch worker started${detail}`));
      this.failAll(this.killedWith ?? new Error(`PyTorch worker (${python}) exited unexpectedly (${how}) with ${this.pending.size} job(s) in flight${detail}`));
    });
  }

  get pid(): number | undefined { return this.alive ? this.child.pid : undefined; }

  /** Queues a request with its bytes (a matrix, or a runner request's parts); replies come back in order. */
  request(req: { id: number; bytes: number }, data: Float32Array | Uint8Array): Promise<ResultFrame> {
    if (!this.alive) return Promise.reject(this.killedWith ?? new Error(`PyTorch worker (${this.python}) is not running`));
    return new Promise((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject });
      this.child.stdin!.write(encodeHeader(req));
      this.child.stdin!.write(data instanceof Uint8Array ? data : bytesOf(data));
    });
  }

  /** Ends the process now; every job in flight fails with `reason`. */
  kill(reason: Error): void {
    this.killedWith = reason;
    if (this.alive) this.child.kill('SIGKILL');
    this.alive = false;
    this.failAll(reason);
  }

  /** Lets the worker finish its queue and exit on end of input. */
  async close(): Promise<void> {
    if (!this.alive) return;
    const done = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.child.stdin!.end();
    await done;
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private lastStderrLine(): string {
    const lines = this.stderr.trim().split('\n');
    const last = lines[lines.length - 1]?.trim();
    return last ? `: ${last}` : '';
  }
}
