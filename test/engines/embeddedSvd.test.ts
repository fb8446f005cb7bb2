import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reductionBytes } from '../../core/linalg/reductionFile.js';
import { truncatedSvd } from '../../core/engines/embeddedSvd.js';
import { exactTruncatedSvd } from '../../core/engines/exactSvd.js';
import { randomizedTruncatedSvd } from '../../core/engines/randomizedSvd.js';
import { symmetricEigen } from '../../core/linalg/symmetricEigenvectors.js';
import { EmbeddedEngine } from '../../core/engines/embedded.js';
import { numpySingularValues } from '../helpers/python.js';
import { lowRankMatrix, randomMatrix } from '../helpers/random.js';
import { assertDescending, assertOrthonormal, optimalError, reconstructionError } from './svdCheck.js';

const geometric = (k: number, ratio: number): number[] => Array.from({ length: k }, (_, i) => ratio ** i);

const cases: { name: string; a: Float32Array; m: number; n: number; k: number }[] = [
  { name: 'random square', a: randomMatrix(240, 240, 1), m: 240, n: 240, k: 12 },
  { name: 'random tall', a: randomMatrix(400, 90, 2), m: 400, n: 90, k: 9 },
  { name: 'random wide', a: randomMatrix(80, 350, 3), m: 80, n: 350, k: 15 },
  { name: 'decaying spectrum', a: lowRankMatrix(300, 260, geometric(120, 0.95), 4), m: 300, n: 260, k: 20 },
  { name: 'low rank, cut inside', a: lowRankMatrix(200, 300, geometric(30, 0.9), 5), m: 200, n: 300, k: 10 },
];

for (const route of [exactTruncatedSvd, randomizedTruncatedSvd]) {
  for (const { name, a, m, n, k } of cases) {
    test(`${route.name}: ${name} ${m}×${n} at rank ${k} reaches the Eckart–Young error`, () => {
      const ref = numpySingularValues(a, m, n);
      const f = route(a, m, n, k);
      assert.equal(f.u.length, m * k);
      assert.equal(f.vt.length, k * n);
      assert.equal(f.s.length, k);
      assertDescending(f.s);
      assertOrthonormal(f, m, n);
      const err = reconstructionError(a, m, n, f);
      const opt = optimalError(ref, k);
      assert.ok(Math.abs(err - opt) <= 1e-3 * opt, `error ${err} vs optimal ${opt}`);
      // Exact: σ to LAPACK precision. Randomized: Ritz values of a projection, which
      // interlace (never exceed) the true σ and lie close to them.
      const tol = route === exactTruncatedSvd ? 1e-4 * ref[0] : 1e-2 * ref[0];
      for (let i = 0; i < k; i++) {
        assert.ok(Math.abs(f.s[i] - ref[i]) <= tol && f.s[i] <= ref[i] * (1 + 1e-9), `s[${i}] ${f.s[i]} vs ${ref[i]}`);
      }
    });
  }

  test(`${route.name}: rank above the true rank reconstructs exactly with an orthonormal completion`, () => {
    const a = lowRankMatrix(60, 45, [5, 3, 2], 6);
    const f = route(a, 60, 45, 8);
    assertOrthonormal(f, 60, 45);
    assert.ok(reconstructionError(a, 60, 45, f) < 1e-6);
    assert.ok(f.s[7] < 1e-5 * f.s[0]);
  });
}

test('the route choice gives the optimum for small and large ranks', () => {
  const a = lowRankMatrix(260, 200, geometric(150, 0.96), 7);
  const ref = numpySingularValues(a, 260, 200);
  for (const k of [5, 120, 200]) {
    const f = truncatedSvd(a, 260, 200, k);
    const opt = optimalError(ref, k);
    const err = reconstructionError(a, 260, 200, f);
    assert.ok(Math.abs(err - opt) <= 1e-3 * opt + 1e-6, `k=${k}: ${err} vs ${opt}`);
  }
});

test('rank 0 gives empty factors and bad ranks are refused', () => {
  const f = truncatedSvd(randomMatrix(5, 4, 8), 5, 4, 0);
  assert.deepEqual([f.u.length, f.s.length, f.vt.length], [0, 0, 0]);
  assert.throws(() => truncatedSvd(randomMatrix(5, 4, 8), 5, 4, 5), /rank 5 is outside \[0, 4\]/);
  assert.throws(() => truncatedSvd(randomMatrix(5, 4, 8), 5, 4, 1.5), RangeError);
});

test('symmetricEigen: A·v = λ·v, descending, on a matrix with repeated eigenvalues', () => {
  const b = lowRankMatrix(30, 30, [4, 4, 2, 1], 9);
  const n = 30;
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) g[i * n + j] += b[k * n + i] * b[k * n + j];
  const { values, vectors } = symmetricEigen(g, n);
  assertDescending(values);
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let j = 0; j < n; j++) av += g[i * n + j] * vectors[c * n + j];
      assert.ok(Math.abs(av - values[c] * vectors[c * n + i]) <= 1e-9 * values[0], `residual of vector ${c}`);
    }
  }
});

test('EmbeddedEngine.truncatedSvd runs in worker threads; aborting a running job ends it and the next call works', async () => {
  const engine = new EmbeddedEngine(1);
  try {
    const a = lowRankMatrix(70, 50, geometric(40, 0.8), 10);
    const m = { data: a, rows: 70, cols: 50 };
    const opt = optimalError(numpySingularValues(a, 70, 50), 6);
    const ac = new AbortController();
    // One thread: the big job starts once the small one has answered, and is then running.
    const small = engine.truncatedSvd(m, 6, { signal: ac.signal });
    const big = engine.truncatedSvd({ data: randomMatrix(1200, 1200, 11), rows: 1200, cols: 1200 }, 600, { signal: ac.signal });
    const f = await small;
    assert.ok(Math.abs(reconstructionError(a, 70, 50, f) - opt) <= 1e-3 * opt);
    ac.abort();
    await assert.rejects(big, /cancelled/);
    const again = await engine.truncatedSvd(m, 6);
    assert.ok(Math.abs(reconstructionError(a, 70, 50, again) - opt) <= 1e-3 * opt);
    await assert.rejects(engine.truncatedSvd(m, 6, { signal: AbortSignal.abort() }), /cancelled/);
    await assert.rejects(engine.truncatedSvd(m, 51), /rank 51 is outside \[0, 50\]/);
  } finally {
    await engine.close();
  }
});

test('exactTruncatedSvd: single rows and columns, 2×2, and a zero matrix', () => {
  for (const [m, n, k] of [[1, 50, 1], [50, 1, 1], [2, 2, 1], [3, 7, 3]] as const) {
    const a = randomMatrix(m, n, 12 + m);
    const f = exactTruncatedSvd(a, m, n, k);
    assertOrthonormal(f, m, n);
    const ref = numpySingularValues(a, m, n);
    const opt = optimalError(ref, k);
    assert.ok(Math.abs(reconstructionError(a, m, n, f) - opt) <= 1e-3 * opt + 1e-6, `${m}×${n} at rank ${k}`);
  }
  const zero = exactTruncatedSvd(new Float32Array(40 * 30), 40, 30, 5);
  assertOrthonormal(zero, 40, 30);
  assert.ok(zero.s.every((x) => x === 0));
});

test('EmbeddedEngine: for a stored transpose, the factors of the matrix it stores the transpose of', async () => {
  const engine = new EmbeddedEngine(1);
  try {
    // Both routes: exact (rank 7 of 64) and randomized (rank 1, a sample under 1/64 of 900).
    for (const [m, n, k] of [[90, 64, 7], [900, 1000, 1]]) {
      const a = lowRankMatrix(m, n, geometric(50, 0.9), 13);
      const aT = new Float32Array(m * n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) aT[j * m + i] = a[i * n + j];
      const direct = await engine.truncatedSvd({ data: a, rows: m, cols: n }, k);
      const viaStored = await engine.truncatedSvd({ data: aT, rows: n, cols: m, transposed: true }, k);
      assert.equal(viaStored.u.length, m * k);
      assert.equal(viaStored.vt.length, k * n);
      viaStored.s.forEach((x, i) => assert.ok(Math.abs(x - direct.s[i]) <= 1e-6 * direct.s[0], `σ${i}: ${x} vs ${direct.s[i]}`));
      // Rank-k reconstructions agree (singular vectors are defined up to sign).
      const rebuild = (f: typeof direct): Float64Array => {
        const out = new Float64Array(m * n);
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let c = 0; c < k; c++) out[i * n + j] += f.u[i * k + c] * f.s[c] * f.vt[c * n + j];
        return out;
      };
      const [x, y] = [rebuild(direct), rebuild(viaStored)];
      x.forEach((v, i) => assert.ok(Math.abs(v - y[i]) <= 1e-5 * direct.s[0], `${m}×${n} entry ${i}: ${v} vs ${y[i]}`));
    }
  } finally {
    await engine.close();
  }
});

test('EmbeddedEngine: results written into shared memory, the input\'s own included, equal the fresh ones', async () => {
  const engine = new EmbeddedEngine(1);
  try {
    // Exact and randomized routes, stored as is and transposed.
    for (const [m, n, k, transposed] of [[90, 64, 7, false], [64, 90, 7, true], [900, 1000, 1, false], [1000, 900, 1, true]] as const) {
      const a = lowRankMatrix(m, n, geometric(50, 0.9), 14);
      const fresh = await engine.truncatedSvd({ data: a, rows: m, cols: n, transposed }, k);
      const shared = new Float32Array(new SharedArrayBuffer(a.byteLength));
      shared.set(a);
      // The factors overwrite the matrix they come from, as factorize() uses it.
      const into = await engine.truncatedSvd({ data: shared, rows: m, cols: n, transposed }, k, { into: shared });
      const rows = transposed ? n : m, cols = transposed ? m : n;
      const what = `${m}×${n} rank ${k}${transposed ? ' transposed' : ''}`;
      assert.deepEqual([into.u, into.s, into.vt], [fresh.u, fresh.s, fresh.vt], what);
      // In the shared memory itself, U then Vᵀ (the worker's views of it reach us as views too).
      assert.deepEqual([shared.subarray(0, rows * k), shared.subarray(rows * k, k * (rows + cols))], [fresh.u, fresh.vt], what);
      assert.ok(into.u.buffer instanceof SharedArrayBuffer && into.vt.buffer instanceof SharedArrayBuffer, what);
    }
    const a = randomMatrix(20, 10, 3);
    await assert.rejects(engine.truncatedSvd({ data: a, rows: 20, cols: 10 }, 2, { into: new Float32Array(60) }), /must be shared memory/);
    await assert.rejects(engine.truncatedSvd({ data: a, rows: 20, cols: 10 }, 2, { into: new Float32Array(new SharedArrayBuffer(4 * 59)) }), /too small/);
  } finally {
    await engine.close();
  }
});

test('EmbeddedEngine: a truncated SVD from the reduction a spectrum kept equals a fresh one; a place holding none or another matrix\'s is ignored', async () => {
  const engine = new EmbeddedEngine(1);
  const dir = mkdtempSync(join(tmpdir(), 'reducible-reductions-'));
  const path = join(dir, 'scratch');
  writeFileSync(path, '');
  try {
    const [m, n, k] = [120, 90, 9];
    const a = lowRankMatrix(m, n, geometric(60, 0.93), 15);
    const other = randomMatrix(n, m, 16);
    // Two places in one file, the second one's offset leaving room for the first.
    const first = { path, offset: 0 }, second = { path, offset: reductionBytes(n) };
    const fresh = await engine.truncatedSvd({ data: a, rows: m, cols: n }, k);
    assert.deepEqual(await engine.truncatedSvd({ data: a, rows: m, cols: n }, k, { reuse: first }), fresh, 'nothing kept yet');
    const sigma = await engine.spectrum({ data: a, rows: m, cols: n }, { keep: first });
    await engine.spectrum({ data: other, rows: n, cols: m }, { keep: second });
    assert.equal(statSync(path).size, 2 * reductionBytes(n));
    assert.deepEqual(await engine.truncatedSvd({ data: a, rows: m, cols: n }, k, { reuse: first }), fresh, 'reused');
    assert.deepEqual(Array.from(fresh.s), Array.from(sigma.subarray(0, k)));
    // Read, not redone: the place is trusted to hold this matrix's reduction (one per layer
    // in a job), so a matrix of the same shape asking there gets the kept Gram's values.
    const same = randomMatrix(m, n, 17);
    assert.deepEqual((await engine.truncatedSvd({ data: same, rows: m, cols: n }, k, { reuse: first })).s, fresh.s);
    // The second place holds a 90×120 matrix's reduction: same side, another matrix.
    assert.deepEqual(await engine.truncatedSvd({ data: a, rows: m, cols: n }, k, { reuse: second }), fresh, 'not this matrix\'s');
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
