// Spectra kernel benchmark: all singular values of f32 matrices already in memory, our embedded
// engine against numpy (Debian numpy + OpenBLAS), measured in the same run. Whole processes
// (start-up, reading a model file) are bench/spectra/process.ts.
// Usage: npx tsx bench/spectra/run.ts [--reps N] [--only 1024x1024,...]   (npm run build first)
//
// numpy's fast way is the reference: f64 Gram of the smaller side (one syrk) + eigvalsh, from
// the f32 array (the upcast timed with it). Beside it, numpy.linalg.svd(compute_uv=False) on the
// f64 upcast (dgesdd, also the accuracy reference). Each side gets both cores: OpenBLAS its
// threads, ours a worker plus a helper thread. Peak memory is the rise of resident memory above
// the baseline taken just before the timed calls.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomMatrix } from '../../test/helpers/random.js';
import { PYTHON } from '../../test/helpers/python.js';
import { loadLine } from '../wholeProcess.js';

const CASES: [number, number][] = [[512, 512], [1024, 1024], [2048, 2048], [4096, 4096], [768, 3072]];

const NUMPY = `
import sys, time, json, numpy as np
path, m, n, reps, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
a32 = np.fromfile(path, dtype='<f4').reshape(m, n)
def svd(a):
    return np.linalg.svd(a.astype(np.float64), compute_uv=False)
def gram(a):
    a = a.astype(np.float64)
    return np.sqrt(np.maximum(np.linalg.eigvalsh(a.T @ a if m >= n else a @ a.T), 0))[::-1]
def best(f):
    f(a32[:64, :64])
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); s = f(a32); ts.append(time.perf_counter() - t)
    return min(ts), s
tsvd, s64 = best(svd)
tgram, _ = best(gram)
s64.astype('<f8').tofile(out)
print(json.dumps({'svd': tsvd, 'gram': tgram}))
`;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const only = arg('--only')?.split(',');
const cases = CASES.filter(([m, n]) => !only || only.includes(`${m}x${n}`));
const dir = mkdtempSync(join(tmpdir(), 'bench-spectra-'));
const mib = (b: number): string => (b / 2 ** 20).toFixed(0);
const pad = (s: string | number, w: number): string => String(s).padStart(w);

console.log(`${loadLine()} (before)`);
console.log(`${pad('matrix (f32)', 12)} ${pad('ours s', 8)} ${pad('np Gram+eigvalsh s', 18)} ${pad('ratio', 6)} ${pad('np svd s', 8)} ${pad('ratio', 6)} ${pad('max|Δσ|/σmax', 13)} ${pad('peak MiB', 8)} ${pad('f64 MiB', 7)} ${pad('peak/f64', 8)}  load after`);
try {
  for (const [m, n] of cases) {
    const reps = Number(arg('--reps') ?? (m * n >= 4096 * 4096 ? 1 : 3));
    const file = join(dir, `${m}x${n}.f32`), ref = join(dir, 'ref.f64'), ours = join(dir, 'ours.json');
    const a = randomMatrix(m, n, m + n);
    writeFileSync(file, new Uint8Array(a.buffer));
    const np = JSON.parse(run(PYTHON, ['-c', NUMPY, file, String(m), String(n), String(reps), ref])) as { svd: number; gram: number };
    run(process.execPath, ['--import', 'tsx', '--expose-gc', join(import.meta.dirname, 'ours.ts'), file, String(m), String(n), String(reps), ours]);
    const res = JSON.parse(readFileSync(ours, 'utf8')) as { times: number[]; peakAboveBaseline: number; values: number[] };
    const refBytes = readFileSync(ref);
    const sigma = new Float64Array(refBytes.buffer, refBytes.byteOffset, refBytes.byteLength / 8);
    let err = 0;
    for (let i = 0; i < sigma.length; i++) err = Math.max(err, Math.abs(res.values[i] - sigma[i]));
    const t = Math.min(...res.times), f64Bytes = 8 * m * n;
    console.log(`${pad(`${m}×${n}`, 12)} ${pad(t.toFixed(3), 8)} ${pad(np.gram.toFixed(3), 18)} ${pad((t / np.gram).toFixed(2), 6)} ${pad(np.svd.toFixed(3), 8)} ${pad((t / np.svd).toFixed(2), 6)} ${pad((err / sigma[0]).toExponential(1), 13)} ${pad(mib(res.peakAboveBaseline), 8)} ${pad(mib(f64Bytes), 7)} ${pad((res.peakAboveBaseline / f64Bytes).toFixed(2), 8)}  ${loadavg()[0].toFixed(2)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
