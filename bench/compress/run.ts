// Compress time of a 100 MB+ safetensors and ONNX model against numpy+LAPACK doing the same
// SVDs (f64, at the ranks Reducible chose) and writes, in one run. Run: npm run bench:compress
// Options: --layers N (default 7) --size n (default 2048) → N·n²·4 bytes per model;
// --runs R (default 1): each command runs R times, alternating, and the fastest run counts
// (the development VM is shared, so single runs are noisy).
// Peak memory is set against the bound: 2 × the largest layer + the output written.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const arg = (name: string, def: number): number => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : def; };
const layers = arg('layers', 7), size = arg('size', 2048), runs = arg('runs', 1);
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
  const layerMiB = (size * size * 4) / 2 ** 20;
  console.log(`| model | size | reducible compress --ratio 0.34 | numpy+LAPACK same SVDs + write | ratio | reducible peak RSS | 2 × largest layer + output |`);
  console.log('|---|---|---|---|---|---|---|');
  const best = (a: { seconds: number; peakMiB: number } | undefined, b: { seconds: number; peakMiB: number }) =>
    (!a || b.seconds < a.seconds ? { seconds: b.seconds, peakMiB: Math.max(b.peakMiB, a?.peakMiB ?? 0) } : { ...a, peakMiB: Math.max(a.peakMiB, b.peakMiB) });
  for (const file of ['model.safetensors', 'model.onnx']) {
    const src = join(dir, file);
    const out = join(dir, `out-${file}`);
    let ours: { seconds: number; peakMiB: number } | undefined, ref: { seconds: number; peakMiB: number } | undefined;
    for (let r = 0; r < runs; r++) {
      ours = best(ours, timed(process.execPath, ['dist/cli.js', 'compress', src, '--ratio', '0.34', '-o', out, '--force']));
      // numpy next to our run, so both see the same machine load. Both models hold the same
      // weights: numpy reads the safetensors one, at the ranks of its report (whose layer names it knows).
      ref = best(ref, timed(PY, [new URL('numpy_compress.py', import.meta.url).pathname, join(dir, 'model.safetensors'), join(dir, 'out-model.safetensors.report.json'), join(dir, 'ref.safetensors')]));
    }
    const bound = 2 * layerMiB + statSync(out).size / 2 ** 20;
    console.log(`| ${file} | ${(statSync(src).size / 2 ** 20).toFixed(0)} MiB | ${ours!.seconds.toFixed(1)} s | ${ref!.seconds.toFixed(1)} s | ${(ours!.seconds / ref!.seconds).toFixed(2)} | ${ours!.peakMiB.toFixed(0)} MiB | ${bound.toFixed(0)} MiB |`);
  }
  console.log(`\n${layers} layers of ${size}×${size} f32; ranks chosen by --ratio 0.34; numpy computes a full f64 SVD per layer (gesdd)`);
  console.log(`and reads the safetensors file for both rows; fastest of ${runs} run(s) each, alternating. Peak RSS is the whole process`);
  console.log(`(main thread, worker and helper threads; an idle \`node\` is ~40 MiB of it).`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
