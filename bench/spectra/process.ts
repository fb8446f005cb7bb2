// Whole-process spectra bench: `reducible analyze MODEL --json` as a user runs it (start-up,
// reading, every layer's spectrum, output) against numpy + LAPACK doing the same from the same
// file in a fresh Python: the fast way (read, f64 Gram of the smaller side, eigvalsh) and,
// beside it, full SVDs (gesdd, values only). Accuracy is checked on every value against the
// full SVD. Usage (after npm run build):
//   npx tsx bench/spectra/process.ts [--shapes 2048x2048,1024x4096] [--runs 3] [--torch]
// --runs R: each command R times, alternating, the fastest counts. --torch: also `--engine torch`.
// --one-core: CPU seconds on one core instead of wall time (bench/wholeProcess.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { best, figure, FIGURE_NOTE, loadLine, timed, type Run } from '../wholeProcess.js';

const opt = (name: string): string | undefined => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : undefined; };
const shapes = opt('shapes') ?? '2048x2048,1024x4096';
const runs = Number(opt('runs') ?? 3);
const torch = process.argv.includes('--torch');
const PY = '/usr/bin/python3';
const REFERENCE = new URL('../numpy_reference.py', import.meta.url).pathname;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Largest |Δσ|/σ_max over each layer's values, the worst layer's. */
function worstError(ours: number[][], ref: Float64Array): number {
  let at = 0, worst = 0;
  for (const sigma of ours) {
    const max = ref[at];
    for (let i = 0; i < sigma.length; i++) worst = Math.max(worst, Math.abs(sigma[i] - ref[at + i]) / max);
    at += sigma.length;
  }
  return worst;
}

const dir = mkdtempSync(join(tmpdir(), 'bench-spectra-process-'));
try {
  run(PY, [new URL('../make_model.py', import.meta.url).pathname, dir, shapes]);
  const model = join(dir, 'model.safetensors'), refFile = join(dir, 'ref.f64');
  const analyze = (engine: string): [string, string[]] => [process.execPath, ['dist/cli.js', 'analyze', model, '--json', '--engine', engine]];
  // Accuracy, untimed: every value against numpy's full SVD.
  run(PY, [REFERENCE, 'analyze', model, 'svd', refFile]);
  const refBytes = readFileSync(refFile);
  const ref = new Float64Array(refBytes.buffer, refBytes.byteOffset, refBytes.byteLength / 8);
  const valuesOf = (json: string): number[][] => (JSON.parse(json) as { layers: { singularValues: number[] }[] }).layers.map((l) => l.singularValues);
  const errOurs = worstError(valuesOf(run(...analyze('wasm'))), ref);
  console.log(`${loadLine()} (before)`);
  let ours: Run | undefined, gram: Run | undefined, svd: Run | undefined, viaTorch: Run | undefined;
  for (let r = 0; r < runs; r++) {
    ours = best(ours, await timed(...analyze('wasm')));
    gram = best(gram, await timed(PY, [REFERENCE, 'analyze', model, 'gram']));
    svd = best(svd, await timed(PY, [REFERENCE, 'analyze', model, 'svd']));
    if (torch) viaTorch = best(viaTorch, await timed(...analyze('torch')));
  }
  const s = (x: Run): string => `${figure(x).toFixed(2)} s`;
  console.log(`| layers (f32) | reducible analyze | numpy read + Gram + eigvalsh | ratio | numpy read + full SVD | ratio |${torch ? ' --engine torch (CPU) |' : ''} max\\|Δσ\\|/σ_max | peak RSS | load average after |`);
  console.log(`|---|---:|---:|---:|---:|---:|${torch ? '---:|' : ''}---:|---:|---|`);
  console.log(`| ${shapes.replaceAll(',', ' + ')} | ${s(ours!)} | ${s(gram!)} | ${(figure(ours!) / figure(gram!)).toFixed(2)} | ${s(svd!)} | ${(figure(ours!) / figure(svd!)).toFixed(2)} |${
    torch ? ` ${s(viaTorch!)} (${(figure(viaTorch!) / figure(ours!)).toFixed(2)}×) |` : ''} ${errOurs.toExponential(1)} | ${ours!.peakMiB.toFixed(0)} MiB | ${loadLine()} |`);
  console.log(`${FIGURE_NOTE}; fastest of ${runs} alternating run(s) each, start-up included; error against numpy's f64 SVD.`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
