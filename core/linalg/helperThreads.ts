// Helper threads for the spectra kernels: worker threads that instantiate the kernel module
// on a job's shared memory and work through helper_loop until the job stops them. They are
// started once and reused, job after job.
import { Worker, type MessagePort } from 'node:worker_threads';
import { CTRL, TASK_QUIT, type Helpers } from './wasmSpectra.js';

/** What a helper is sent for each job. */
interface HelperJob { module: WebAssembly.Module; memory: WebAssembly.Memory; ctrl: number; tid: number }

/** workerData that makes a worker script call serveAsHelper instead of its usual role. */
export const HELPER_ROLE = { role: 'spectra-helper' } as const;

export function isHelperRole(data: unknown): boolean {
  return (data as { role?: unknown } | null)?.role === HELPER_ROLE.role;
}

/** A pool of helper threads, started on first use and reused job after job. */
export class HelperThreads {
  private readonly workers: Worker[] = [];

  /** `script` must call serveAsHelper when started with HELPER_ROLE as its workerData. */
  constructor(private readonly script: string | URL) {}

  /**
   * Starts `count` threads ahead of the jobs that will take them: a thread takes tens of
   * milliseconds to start, which a job would otherwise spend waiting at its first barrier.
   */
  start(count: number): void {
    while (this.workers.length < count) {
      const w = new Worker(this.script, { workerData: HELPER_ROLE });
      w.unref();
      this.workers.push(w);
    }
  }

  /** Helpers for one job: the pool's first `count` threads. */
  take(count: number): Helpers {
    this.start(count);
    const workers = this.workers.slice(0, count);
    return {
      count,
      start: (module, memory, ctrl) =>
        workers.forEach((w, i) => w.postMessage({ module, memory, ctrl, tid: i + 1 } satisfies HelperJob)),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.terminate()));
  }
}

/** Body of a helper thread. helper_loop blocks this thread until the job's end. */
export function serveAsHelper(port: MessagePort): void {
  port.on('message', (job: HelperJob) => {
    let k: { helper_loop(ctrl: number, tid: number): void };
    try {
      k = new WebAssembly.Instance(job.module, { env: { memory: job.memory } }).exports as typeof k;
    } catch {
      standIn(job);
      return;
    }
    k.helper_loop(job.ctrl, job.tid);
  });
}

/**
 * helper_loop's barrier protocol without the work, for a helper that cannot run the kernels:
 * the job's other threads would otherwise wait for it forever. It flags the job as failed.
 */
function standIn(job: HelperJob): void {
  const c = new Int32Array(job.memory.buffer, job.ctrl, 16);
  Atomics.store(c, CTRL.failed, 1);
  for (let seen = 0; ;) {
    Atomics.wait(c, CTRL.gen, seen);
    seen = Atomics.load(c, CTRL.gen);
    Atomics.add(c, CTRL.done, 1);
    Atomics.notify(c, CTRL.done, 1);
    if (Atomics.load(c, CTRL.task) === TASK_QUIT) return;
  }
}
