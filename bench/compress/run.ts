// Compress time and memory of a 100 MB+ safetensors and ONNX model against numpy + LAPACK doing
// the same job as a whole process: read, the fast way to the same ranks (f64 Gram of the smaller
// side + eigh, then the other side by one product), write — and, beside it, full f64 SVDs (gesdd).
// Run: npm run bench:compress
// Options: --shapes 2048x2048,... (default 7 × 2048x2048; ONNX only when the shapes chain);
// --runs R (default 1): each command runs R times, alternating, and the fastest run counts;
// --torch: also time `--engine torch` (PyTorch on the CPU) on the same models; --one-core: CPU
// seconds on one core instead of wall time (bench/wholeProcess.ts).
// Peak memory is whole-process RSS, set against the issue's bound: 2 × the largest layer's f32
// bytes + 200 MiB. A baseline (the same command on a one-layer 512² model: same threads, same
// code, ~1 MiB of data) shows what the data itself costs. The load average is printed with
// every row: timings are only comparable on a quiet machine.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { best, figure, FIGURE_NOTE, loadLine, timed, type Run } from '../wholeProcess.js';

const opt = (name: string): string | undefined => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : undefined; };
const shapes = opt('shapes') ?? Array(7).fill('2048x2048').join(',');
const runs = Number(opt('runs') ?? 1);
const torch = process.argv.includes('--torch');
const PY = '/usr/bin/python3';
const REFERENCE = new URL('../numpy_reference.py', import.meta.url).pathname;
const MODEL = new URL('../make_model.py', import.meta.url).pathname;

const ours = (src: string, out: string, engine = 'wasm'): Promise<Run> =>
  timed(process.execPath, ['dist/cli.js', 'compress', src, '--ratio', '0.34', '--engine', engine, '-o', out, '--force']);

const dir = mkdtempSync(join(tmpdir(), 'reducible-bench-compress-'));
try {
  spawnSync(PY, [MODEL, dir, shapes], { stdio: 'inherit' });
  mkdirSync(join(dir, 'baseline'));
  spawnSync(PY, [MODEL, join(dir, 'baseline'), '512x512'], { stdio: 'inherit' });
  const largest = Math.max(...shapes.split(',').map((s) => s.split('x').map(Number).reduce((a, b) => a * b)));
  const boundMiB = (2 * 4 * largest) / 2 ** 20 + 200;
  const mib = (x: number): string => `${x.toFixed(0)} MiB`;
  console.log(`${loadLine()} (before)`);
  console.log(`| model | size | reducible compress --ratio 0.34 | numpy Gram + eigh + write | ratio | numpy full SVD + write | ratio |${torch ? ' --engine torch (CPU) |' : ''} reducible peak RSS | baseline RSS | bound: 2 × largest layer + 200 MiB | load average after |`);
  console.log(`|---|---|---|---|---|---|---|${torch ? '---|' : ''}---|---|---|---|`);
  for (const file of ['model.safetensors', 'model.onnx'].filter((f) => existsSync(join(dir, f)))) {
    const src = join(dir, file), out = join(dir, `out-${file}`);
    // The safetensors run's report (done first): numpy knows its layer names, and both models
    // hold the same weights, so the ranks are the same.
    const report = join(dir, 'out-model.safetensors.report.json'), ref = join(dir, 'ref.safetensors');
    let mine: Run | undefined, base: Run | undefined, gram: Run | undefined, svd: Run | undefined, viaTorch: Run | undefined;
    for (let r = 0; r < runs; r++) {
      base = best(base, await ours(join(dir, 'baseline', file), join(dir, 'baseline', `out-${file}`)));
      mine = best(mine, await ours(src, out));
      // numpy next to our run, so both see the same machine load; it reads the safetensors model.
      gram = best(gram, await timed(PY, [REFERENCE, 'compress', join(dir, 'model.safetensors'), 'gram', report, ref]));
      svd = best(svd, await timed(PY, [REFERENCE, 'compress', join(dir, 'model.safetensors'), 'svd', report, ref]));
      if (torch) viaTorch = best(viaTorch, await ours(src, join(dir, `torch-${file}`), 'torch'));
    }
    const s = (x: Run): string => `${figure(x).toFixed(1)} s`;
    console.log(`| ${file} | ${mib(statSync(src).size / 2 ** 20)} | ${s(mine!)} | ${s(gram!)} | ${(figure(mine!) / figure(gram!)).toFixed(2)} | ${s(svd!)} | ${(figure(mine!) / figure(svd!)).toFixed(2)} |${
      torch ? ` ${s(viaTorch!)} (${(figure(viaTorch!) / figure(mine!)).toFixed(2)}×) |` : ''} ${mib(mine!.peakMiB)} | ${mib(base!.peakMiB)} | ${mib(boundMiB)} | ${loadLine()} |`);
    if (mine!.threads !== base!.threads) console.log(`  (threads differ: ${mine!.threads} in the measured run, ${base!.threads} in the baseline run)`);
  }
  console.log(`\n${FIGURE_NOTE}.`);
  console.log(`layers ${shapes} (f32); ranks chosen by --ratio 0.34, numpy keeps the same ranks; fastest of ${runs} run(s) each,`);
  console.log('alternating. Peak RSS is the whole process (main thread, worker and helper threads); baseline: the same command');
  console.log('on a one-layer 512² model, same threads.');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
