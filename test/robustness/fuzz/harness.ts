// Drives the fuzz worker: deterministic inputs (fast-check, seeded) per format, a watchdog
// that stops an input running past its time or growing the process past its memory bound
// (the worker is then restarted at the next input), and counts of how every input ended.
import { Worker } from 'node:worker_threads';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { mutation, type Mutation } from './mutations.js';
import type { FuzzFormat, Seed } from './seeds.js';
import type { FuzzInput, Outcome, WorkerSetup } from './worker.js';

export interface FuzzOptions {
  /** Inputs for this format. */
  inputs: number;
  /** fast-check seed: the same seed gives the same inputs. */
  seed: number;
  /** An input still running after this long is a hang. */
  timeoutMs?: number;
  /** Growth of the process's resident memory over its size at the start that counts as unbounded. */
  rssLimitMb?: number;
  onProgress?: (done: number) => void;
}

export interface Failure { kind: 'crash' | 'hang' | 'memory' | 'left-behind'; seed: string; index: number; mutation: Mutation; message: string }

export interface FuzzCounts {
  format: FuzzFormat;
  inputs: number;
  ok: number;
  refused: number;
  crashes: number;
  hangs: number;
  memory: number;
  leftBehind: number;
  /** Refusal messages with the path and numbers blanked, and how often each came. */
  refusals: Map<string, number>;
  failures: Failure[];
  peakRssGrowthMb: number;
}

const BATCH = 200;

/** The file names and numbers of a refusal blanked, so equal reasons count together. */
export function refusalKind(message: string, workDir: string): string {
  return message.split(workDir).join('…').replace(/\d+/g, 'N').slice(0, 160);
}

export async function fuzzFormat(format: FuzzFormat, allSeeds: Seed[], o: FuzzOptions): Promise<FuzzCounts> {
  const seeds = allSeeds.filter((s) => s.format === format);
  if (seeds.length === 0) throw new Error(`no seeds for ${format}`);
  const timeoutMs = o.timeoutMs ?? 10_000;
  const rssLimit = (o.rssLimitMb ?? 1024) * 2 ** 20;
  const counts: FuzzCounts = { format, inputs: 0, ok: 0, refused: 0, crashes: 0, hangs: 0, memory: 0, leftBehind: 0, refusals: new Map(), failures: [], peakRssGrowthMb: 0 };
  // Memory-backed when there is one: every input is written out, and disk writes would dominate.
  const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'reducible-fuzz-'));
  // The HDF5 reader stops a looping libhdf5 itself (containers/h5Remote.ts): well inside the watchdog's bound,
  // so only a reader without such a deadline can still hang.
  const setup: WorkerSetup = { seeds, workDir: join(root, 'work'), tmpDir: join(root, 'tmp'), hdf5TimeoutMs: Math.round(timeoutMs / 3) };
  mkdirSync(setup.workDir);
  mkdirSync(setup.tmpDir);
  const baseRss = process.memoryUsage.rss();
  let worker: Promise<Worker> | undefined;

  for (let start = 0; start < o.inputs; start += BATCH) {
    const mutations = fc.sample(mutation, { seed: o.seed + start, numRuns: Math.min(BATCH, o.inputs - start) });
    let pending: FuzzInput[] = mutations.map((m, i) => ({ index: start + i, seed: (start + i) % seeds.length, mutation: m }));
    while (pending.length) pending = await runBatch(pending);
    o.onProgress?.(counts.inputs);
  }
  await (await worker)?.terminate();
  rmSync(root, { recursive: true, force: true });
  return counts;

  function record(input: FuzzInput, kind: Failure['kind'] | Outcome['kind'], message = ''): void {
    counts.inputs++;
    const failure = (k: Failure['kind']): void => { counts.failures.push({ kind: k, seed: seeds[input.seed].id, index: input.index, mutation: input.mutation, message }); };
    if (kind === 'ok') counts.ok++;
    else if (kind === 'refused') { counts.refused++; const r = refusalKind(message, setup.workDir); counts.refusals.set(r, (counts.refusals.get(r) ?? 0) + 1); }
    else if (kind === 'crash') { counts.crashes++; failure(kind); }
    else if (kind === 'hang') { counts.hangs++; failure(kind); }
    else if (kind === 'memory') { counts.memory++; failure(kind); }
    else { counts.leftBehind++; failure(kind); }
  }

  /** A worker that has loaded its modules (messages sent before that can be lost). */
  function startWorker(): Promise<Worker> {
    const w = new Worker(new URL('./workerEntry.mjs', import.meta.url), {
      workerData: setup, env: { ...process.env, TMPDIR: setup.tmpDir },
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    return new Promise((resolve, reject) => {
      w.once('message', () => { w.off('error', reject); resolve(w); });
      w.once('error', reject);
    });
  }

  /** Runs inputs on the worker; returns those still to run if it had to be stopped (it is then replaced). */
  async function runBatch(inputs: FuzzInput[]): Promise<FuzzInput[]> {
    const w = await (worker ??= startWorker());
    return new Promise((resolveBatch) => {
      let next = 0;
      let since = Date.now();
      const finish = (rest: FuzzInput[], kill: boolean): void => {
        clearInterval(watchdog);
        w.off('message', onMessage).off('error', onError).off('exit', onExit);
        if (!kill) { resolveBatch(rest); return; }
        worker = undefined;
        // What a stopped read had made (a .keras reader's temporary copy) is not the next input's doing.
        void w.terminate().then(() => {
          for (const dir of [setup.workDir, setup.tmpDir]) for (const f of readdirSync(dir)) rmSync(join(dir, f), { recursive: true, force: true });
          resolveBatch(rest);
        });
      };
      const stop = (kind: Failure['kind'], message: string): void => {
        record(inputs[next], kind, message);
        finish(inputs.slice(next + 1), true);
      };
      const watchdog = setInterval(() => {
        const growth = process.memoryUsage.rss() - baseRss;
        counts.peakRssGrowthMb = Math.max(counts.peakRssGrowthMb, Math.round(growth / 2 ** 20));
        if (growth > rssLimit) stop('memory', `resident memory grew by ${Math.round(growth / 2 ** 20)} MB`);
        else if (Date.now() - since > timeoutMs) stop('hang', `still running after ${timeoutMs} ms`);
      }, 50);
      const onMessage = (r: Outcome): void => {
        record(inputs[next], r.kind, 'message' in r ? r.message : '');
        since = Date.now();
        if (++next === inputs.length) finish([], false);
      };
      // An uncaught exception or unhandled rejection in the worker, or its heap limit.
      const onError = (e: Error): void => stop(/out of memory/i.test(e.message) ? 'memory' : 'crash', `worker died: ${e.stack ?? e.message}`);
      const onExit = (code: number): void => stop('crash', `worker exited with code ${code}`);
      w.on('message', onMessage).on('error', onError).on('exit', onExit);
      w.postMessage(inputs);
    });
  }
}
