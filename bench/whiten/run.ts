// Whitening kernels (compress/whiten.ts) against numpy + LAPACK on the same data: the Cholesky
// factor of an n×n moment (with the first jitter), Lᵀ·W for an n×cols weight, and — ours only,
// numpy has no triangular solve without scipy — the back substitution Lᵀ·X = Y for k columns.
// In-process times (data making and process start-up excluded), the first call and the best of
// --runs; numpy as it comes (OpenBLAS threads) and on one thread, since ours runs on one. CPU
// seconds beside wall seconds: on a loaded machine they are the steadier figure.
// Usage: npx tsx bench/whiten/run.ts [--n 2880] [--cols 480] [--k 200] [--runs 3]
import { spawnSync } from 'node:child_process';
import { choleskyWithJitter, solveLowerTransposed, whitenWeight } from '../../core/compress/whiten.js';
import { rng } from '../../test/helpers/random.js';
import { loadLine } from '../wholeProcess.js';

const opt = (name: string, fallback: number): number => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : fallback; };
const n = opt('n', 2880), cols = opt('cols', 480), k = opt('k', 200), runs = opt('runs', 3);

// A symmetric matrix with entries in ±½ and n added to the diagonal: safely PD, so both sides
// factor it once (time does not depend on the values).
const r = rng(1);
const c = new Float64Array(n * n);
for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) c[i * n + j] = c[j * n + i] = r() - 0.5;
for (let i = 0; i < n; i++) c[i * n + i] += n;
const w = Float32Array.from({ length: n * cols }, () => r() - 0.5);
const y = Float64Array.from({ length: n * k }, () => r() - 0.5);

interface Seconds { wall: number; cpu: number }

/** Wall and CPU seconds of the first call and the best of `runs`, and the first call's result. */
function time<T>(f: () => T): { first: Seconds; best: Seconds; value: T } {
  let value: T | undefined, first = { wall: 0, cpu: 0 };
  const best = { wall: Infinity, cpu: Infinity };
  for (let run = 0; run < runs; run++) {
    const t0 = performance.now(), c0 = process.cpuUsage();
    value = f();
    const c = process.cpuUsage(c0), s = { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
    if (run === 0) first = s;
    best.wall = Math.min(best.wall, s.wall);
    best.cpu = Math.min(best.cpu, s.cpu);
  }
  return { first, best, value: value! };
}

const chol = time(() => choleskyWithJitter(c, n));
const times = time(() => whitenWeight(chol.value, w, n, cols));
const solve = time(() => solveLowerTransposed(chol.value, y, n, k));

const NUMPY = `
import sys, time, numpy as np
n, c, runs = map(int, sys.argv[1:4]); b = sys.stdin.buffer.read()
C = np.frombuffer(b, "<f8", n * n).reshape(n, n); W = np.frombuffer(b, "<f4", n * c, 8 * n * n).reshape(n, c)
j = 1e-8 * np.trace(C) / n; best = [float("inf")] * 4
clock = lambda: (time.perf_counter(), time.process_time())
for _ in range(runs):
    t0 = clock(); L = np.linalg.cholesky(C + j * np.eye(n)); t1 = clock()
    M = (L.T @ W.astype(np.float64)).astype(np.float32); t2 = clock()
    best = [min(b, x) for b, x in zip(best, [t1[0] - t0[0], t1[1] - t0[1], t2[0] - t1[0], t2[1] - t1[1]])]
sys.stdout.buffer.write(np.array(best, "<f8").tobytes() + L.astype("<f8").tobytes() + M.astype("<f4").tobytes())
`;

function numpy(threads?: number): { chol: Seconds; times: Seconds; l: Float64Array; m: Float32Array } {
  const input = Buffer.concat([Buffer.from(c.buffer), Buffer.from(w.buffer)]);
  const env = threads ? { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) } : process.env;
  const p = spawnSync('/usr/bin/python3', ['-c', NUMPY, String(n), String(cols), String(runs)], { input, env, maxBuffer: 1 << 30 });
  if (p.status !== 0) throw new Error(`numpy failed: ${p.stderr}`);
  const out = p.stdout.buffer.slice(p.stdout.byteOffset, p.stdout.byteOffset + p.stdout.byteLength);
  const [cw, cc, tw, tc] = new Float64Array(out, 0, 4);
  return { chol: { wall: cw, cpu: cc }, times: { wall: tw, cpu: tc }, l: new Float64Array(out, 32, n * n), m: new Float32Array(out, 32 + 8 * n * n, n * cols) };
}

/** Largest |a − b| relative to the largest |b|. */
function error(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / m;
}

const s = (x: Seconds): string => `${x.wall.toFixed(3)} s (CPU ${x.cpu.toFixed(3)} s)`;
const ratio = (a: Seconds, b: Seconds): string => `${(a.wall / b.wall).toFixed(2)}× (CPU ${(a.cpu / b.cpu).toFixed(2)}×)`;
console.log(`n = ${n}, cols = ${cols}, k = ${k}; best of ${runs} (ours: first call too); ${loadLine()}`);
for (const [label, threads] of [['numpy (OpenBLAS threads)', undefined], ['numpy (1 thread)', 1]] as const) {
  const ref = numpy(threads);
  console.log(`${label}: Cholesky ${s(ref.chol)}, Lᵀ·W ${s(ref.times)}; ours / numpy: Cholesky ${ratio(chol.best, ref.chol)}, Lᵀ·W ${ratio(times.best, ref.times)}; ${loadLine()}`);
  if (!threads) console.log(`  max error vs numpy: L ${error(chol.value, ref.l).toExponential(1)}, Lᵀ·W ${error(times.value, ref.m).toExponential(1)}`);
}
console.log(`ours (1 thread): Cholesky ${s(chol.best)} (first ${s(chol.first)}), Lᵀ·W ${s(times.best)} (first ${s(times.first)}), solve (k = ${k}) ${s(solve.best)} (first ${s(solve.first)}); ${loadLine()}`);
