// Compress time of a 100 MB+ safetensors and ONNX model against numpy+LAPACK doing the same
// SVDs (f64, at the ranks Reducible chose) and writes, in one run. Run: npm run bench:compress
// Options: --layers N (default 7) --size n (default 2048) → N·n²·4 bytes per model;
// --runs R (default 1): each command runs R times, alternating, and the fastest run counts
// (the development VM is shared, so single runs are noisy).
// Peak memory is set against the bound: 2 × the largest layer + the output written.
// The bound is about data, so the peak is also shown above a baseline: the same CLI command
// on a one-layer 512² model (1 MiB), which starts the same threads (main, one pool worker and
// its helper; the thread count of both runs is printed to check it) and compiles the same
// code, with next to no data. Its own data (≈ 3 MiB: layer, Gram, factors) makes the
// figure above baseline a slight underestimate.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const arg = (name: string, def: number): number => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : def; };
const layers = arg('layers', 7), size = arg('size', 2048), runs = arg('runs', 1);
const PY = '/usr/bin/python3';

interface Run { seconds: number; peakMiB: number; threads: number }

/** Most threads the process under /usr/bin/time (pid `time`) had at once, polled from /proc. */
function threadsOf(timePid: number): number {
  try {
    const child = readFileSync(`/proc/${timePid}/task/${timePid}/children`, 'utf8').trim().split(' ')[0];
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${child}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0; // not started yet or already gone
  }
}

/** Wall time and peak RSS (wait4's, exact) of a command; its thread count sampled every 50 ms. */
function timed(cmd: string, args: string[]): Promise<Run> {
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

const ours = (src: string, out: string): Promise<Run> =>
  timed(process.execPath, ['dist/cli.js', 'compress', src, '--ratio', '0.34', '-o', out, '--force']);
/** Fastest time; largest peak and thread count. */
const best = (a: Run | undefined, b: Run): Run => ({
  seconds: Math.min(a?.seconds ?? Infinity, b.seconds), peakMiB: Math.max(a?.peakMiB ?? 0, b.peakMiB), threads: Math.max(a?.threads ?? 0, b.threads),
});

const dir = mkdtempSync(join(tmpdir(), 'reducible-bench-compress-'));
try {
  const model = new URL('make_model.py', import.meta.url).pathname;
  spawnSync(PY, [model, dir, String(layers), String(size)], { stdio: 'inherit' });
  mkdirSync(join(dir, 'baseline'));
  spawnSync(PY, [model, join(dir, 'baseline'), '1', '512'], { stdio: 'inherit' });
  const layerMiB = (size * size * 4) / 2 ** 20;
  console.log('| model | size | reducible compress --ratio 0.34 | numpy+LAPACK same SVDs + write | ratio | reducible peak RSS | baseline RSS | peak above baseline | 2 × largest layer + output |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const file of ['model.safetensors', 'model.onnx']) {
    const src = join(dir, file);
    const out = join(dir, `out-${file}`);
    let mine: Run | undefined, ref: Run | undefined, base: Run | undefined;
    for (let r = 0; r < runs; r++) {
      base = best(base, await ours(join(dir, 'baseline', file), join(dir, 'baseline', `out-${file}`)));
      mine = best(mine, await ours(src, out));
      // numpy next to our run, so both see the same machine load. Both models hold the same
      // weights: numpy reads the safetensors one, at the ranks of its report (whose layer names it knows).
      ref = best(ref, await timed(PY, [new URL('numpy_compress.py', import.meta.url).pathname, join(dir, 'model.safetensors'), join(dir, 'out-model.safetensors.report.json'), join(dir, 'ref.safetensors')]));
    }
    const bound = 2 * layerMiB + statSync(out).size / 2 ** 20;
    const mib = (x: number): string => `${x.toFixed(0)} MiB`;
    console.log(`| ${file} | ${mib(statSync(src).size / 2 ** 20)} | ${mine!.seconds.toFixed(1)} s | ${ref!.seconds.toFixed(1)} s | ${(mine!.seconds / ref!.seconds).toFixed(2)} | ${mib(mine!.peakMiB)} | ${mib(base!.peakMiB)} | ${mib(mine!.peakMiB - base!.peakMiB)} | ${mib(bound)} |`);
    if (mine!.threads !== base!.threads) console.log(`  (threads differ: ${mine!.threads} in the measured run, ${base!.threads} in the baseline run)`);
  }
  console.log(`\n${layers} layers of ${size}×${size} f32; ranks chosen by --ratio 0.34; numpy computes a full f64 SVD per layer (gesdd)`);
  console.log(`and reads the safetensors file for both rows; fastest of ${runs} run(s) each, alternating. Peak RSS is the whole process`);
  console.log('(main thread, worker and helper threads); baseline: the same command on a one-layer 512² model, same threads.');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
