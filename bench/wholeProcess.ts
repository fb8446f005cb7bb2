// Timing whole processes for the benchmarks that set a command against a reference script
// (bench/spectra, bench/compress): wall time and peak RSS as /usr/bin/time reports them, and
// the machine's load average, printed with every figure (timings on a loaded machine are not
// comparable: OpenBLAS in particular collapses when its threads are oversubscribed).
// `--one-core` (oneCore below) is the fallback for a machine that is never quiet: every command
// pinned to one core, OpenBLAS single-threaded, and CPU seconds compared instead of wall time —
// a ratio of the work each side does, which load moves far less; not the two-core figure.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

export interface Run { seconds: number; cpuSeconds: number; peakMiB: number; threads: number }

/** Whether the bench was asked for one-core CPU-time figures (see the top of this file). */
export const oneCore = process.argv.includes('--one-core');

/** Most threads the process under /usr/bin/time (pid `time`) had at once, polled from /proc. */
function threadsOf(timePid: number): number {
  try {
    const child = readFileSync(`/proc/${timePid}/task/${timePid}/children`, 'utf8').trim().split(' ')[0];
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${child}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0; // not started yet or already gone
  }
}

/**
 * Wall time, CPU time and peak RSS (wait4's, exact) of a command, stdout discarded; its thread
 * count sampled every 50 ms. With --one-core, pinned to core 0 and OpenBLAS on one thread.
 */
export function timed(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const pinned = oneCore ? ['taskset', '-c', '0', cmd, ...args] : [cmd, ...args];
    const env = oneCore ? { ...process.env, OPENBLAS_NUM_THREADS: '1' } : process.env;
    const p = spawn('/usr/bin/time', ['-f', '%e %M %U %S', ...pinned], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '', threads = 0;
    const poll = setInterval(() => { threads = Math.max(threads, threadsOf(p.pid!)); }, 50);
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (code) => {
      clearInterval(poll);
      if (code !== 0) { reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr}`)); return; }
      const [s, kb, user, sys] = stderr.trim().split('\n').pop()!.split(' ').map(Number);
      resolve({ seconds: s, cpuSeconds: user + sys, peakMiB: kb / 1024, threads });
    });
  });
}

/** Fastest times; largest peak and thread count. */
export function best(a: Run | undefined, b: Run): Run {
  return {
    seconds: Math.min(a?.seconds ?? Infinity, b.seconds), cpuSeconds: Math.min(a?.cpuSeconds ?? Infinity, b.cpuSeconds),
    peakMiB: Math.max(a?.peakMiB ?? 0, b.peakMiB), threads: Math.max(a?.threads ?? 0, b.threads),
  };
}

/** The figure a bench compares: wall seconds, or CPU seconds with --one-core. */
export const figure = (r: Run): number => (oneCore ? r.cpuSeconds : r.seconds);

/** What `figure` is, for table headings and notes. */
export const FIGURE_NOTE = oneCore
  ? 'ONE-CORE CPU seconds (taskset -c 0, OPENBLAS_NUM_THREADS=1, user + sys): a work ratio for a loaded machine, not the two-core wall time'
  : 'wall seconds, whole processes';

/** "load average 0.12 / 0.30 / 0.41 on 2 cores", for every printed figure. */
export function loadLine(): string {
  return `load average ${loadavg().map((v) => v.toFixed(2)).join(' / ')} on ${availableParallelism()} cores`;
}
