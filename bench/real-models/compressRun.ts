// One `reducible compress` as a user runs it: a child process of the real CLI (this checkout's
// or another's), under GNU time for its wall time and peak RSS. A watchdog polls the process
// group's resident memory and kills it past a limit or a deadline, so a run that would grow to
// 11 GB (issue 19's `--method whitened` report) becomes a recorded failure instead of taking
// the shared machine down.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CompressReport } from '../../core/compress/report.js';

export interface Limits { rssBytes: number; seconds: number }

export interface CompressRun {
  /** The CLI's --json report; absent when the run failed. */
  report?: CompressReport;
  /** One line: the CLI's own message, or why the watchdog stopped it. */
  error?: string;
  exitCode: number | null;
  seconds: number;
  peakRssBytes: number;
}

const PAGE = 4096;

/** Resident bytes of every process in group `pgid` (the CLI may start helpers). */
function groupRss(pgid: number): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      // Fields after the command name (which may hold spaces) start at its closing parenthesis.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid) total += Number(f[21]) * PAGE;
    } catch { /* the process ended while we looked */ }
  }
  return total;
}

export async function runCompress(cli: string, args: string[], limits: Limits): Promise<CompressRun> {
  if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time is missing (run bench/real-models/setup.sh)');
  const dir = mkdtempSync(join(tmpdir(), 'reducible-real-time-'));
  const timeFile = join(dir, 'time');
  const started = Date.now();
  // detached: its own process group, so the watchdog can end the CLI and anything it started at once.
  const child = spawn('/usr/bin/time', ['-f', '%e %M', '-o', timeFile, process.execPath, cli, 'compress', ...args, '--json'],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '', peak = 0, stopped: string | undefined;
  child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
  const watchdog = setInterval(() => {
    const rss = groupRss(child.pid!);
    peak = Math.max(peak, rss);
    const elapsed = (Date.now() - started) / 1000;
    if (stopped) return;
    if (rss > limits.rssBytes) stopped = `stopped by the bench: resident memory ${(rss / 2 ** 30).toFixed(2)} GiB passed the ${(limits.rssBytes / 2 ** 30).toFixed(1)} GiB limit after ${elapsed.toFixed(0)} s`;
    else if (elapsed > limits.seconds) stopped = `stopped by the bench: still running after ${limits.seconds} s`;
    if (stopped) process.kill(-child.pid!, 'SIGKILL');
  }, 500);
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  clearInterval(watchdog);
  const seconds = (Date.now() - started) / 1000;
  // GNU time writes "Command exited with non-zero status N" or "Command terminated by signal 9" before its line.
  const timed = existsSync(timeFile) ? /([\d.]+) (\d+)\s*$/.exec(readFileSync(timeFile, 'utf8')) : null;
  rmSync(dir, { recursive: true, force: true });
  const run: CompressRun = { exitCode, seconds: timed ? Number(timed[1]) : seconds, peakRssBytes: Math.max(peak, timed ? Number(timed[2]) * 1024 : 0) };
  if (stopped) return { ...run, error: stopped };
  if (exitCode !== 0) {
    // With --json the CLI's progress goes to stderr as JSON lines; its failure is the one line that is not.
    const message = stderr.split('\n').filter((l) => l.trim() && !l.startsWith('{')).pop();
    return { ...run, error: message ?? `exit code ${exitCode} with no message` };
  }
  return { ...run, report: JSON.parse(stdout) as CompressReport };
}
