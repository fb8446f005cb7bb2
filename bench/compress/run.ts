// Compress time of a 100 MB+ safetensors and ONNX model against numpy+LAPACK doing the same
// SVDs (f64, at the ranks Reducible chose) and writes, in one run. Run: npm run bench:compress
// Options: --layers N (default 7) --size n (default 2048) → N·n²·4 bytes per model.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const arg = (name: string, def: number): number => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : def; };
const layers = arg('layers', 7), size = arg('size', 2048);
const PY = '/usr/bin/python3';

function timed(cmd: string, args: string[]): { seconds: number; peakMiB: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  const [s, kb] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { seconds: s, peakMiB: kb / 1024 };
}

const dir = mkdtempSync(join(tmpdir(), 'reducible-bench-compress-'));
try {
  spawnSync(PY, [new URL('make_model.py', import.meta.url).pathname, dir, String(layers), String(size)], { stdio: 'inherit' });
  console.log(`| model | size | reducible compress --ratio 0.34 | numpy+LAPACK same SVDs + write | ratio | reducible peak RSS |`);
  console.log('|---|---|---|---|---|---|');
  let ref: { seconds: number } | undefined;
  for (const file of ['model.safetensors', 'model.onnx']) {
    const src = join(dir, file);
    const out = join(dir, `out-${file}`);
    const ours = timed(process.execPath, ['dist/cli.js', 'compress', src, '--ratio', '0.34', '-o', out, '--force']);
    // Both models hold the same weights: one numpy run, at the ranks of the first report, is the reference for both.
    ref ??= timed(PY, [new URL('numpy_compress.py', import.meta.url).pathname, src, `${out}.report.json`, join(dir, 'ref.safetensors')]);
    console.log(`| ${file} | ${(statSync(src).size / 2 ** 20).toFixed(0)} MiB | ${ours.seconds.toFixed(1)} s | ${ref.seconds.toFixed(1)} s | ${(ours.seconds / ref.seconds).toFixed(2)} | ${ours.peakMiB.toFixed(0)} MiB |`);
  }
  console.log(`\n${layers} layers of ${size}×${size} f32; ranks chosen by --ratio 0.34; numpy computes a full f64 SVD per layer (gesdd).`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
