// Timing whole processes for the benchmarks that set a command against a reference script
// (bench/spectra, bench/compress): wall time and peak RSS as /usr/bin/time reports them, and
// the machine's load average, printed with every figure (timings on a loaded machine are not
// comparable: OpenBLAS in particular collapses when its threads are oversubscribed).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

export interface Run { seconds: number; peakMiB: number; threads: number }

/** Most threads the process under /usr/bin/time (pid `time`) had at once, polled from /proc. */
function threadsOf(timePid: number): number {
  try {
    const child = readFileSync(`/proc/${timePid}/task/${timePid}/children`, 'utf8').trim().split(' ')[0];
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${child}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0; // not started yet or already gone
  }
}

/** Wall time and peak RSS (wait4's, exact) of a command, stdout discarded; its thread count sampled every 50 ms. */
export function timed(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '', threads = 0;
    const poll = setInterval(() => { threads = Math.max(threads, threadsOf(p.pid!)); }, 50);
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (code) => {
      clearInterval(poll);
      if (code !== 0) { reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr}`)); return; }
      const [s, kb] = stderr.trim().split('\n').pop()!.split(' ').map(Number);
      resolve({ seconds: s, peakMiB: kb / 1024, threads });
    });
  });
}

/** Fastest time; largest peak and thread count. */
export function best(a: Run | undefined, b: Run): Run {
  return { seconds: Math.min(a?.seconds ?? Infinity, b.seconds), peakMiB: Math.max(a?.peakMiB ?? 0, b.peakMiB), threads: Math.max(a?.threads ?? 0, b.threads) };
}

/** "load average 0.12 / 0.30 / 0.41 on 2 cores", for every printed figure. */
export function loadLine(): string {
  return `load average ${loadavg().map((v) => v.toFixed(2)).join(' / ')} on ${availableParallelism()} cores`;
}
