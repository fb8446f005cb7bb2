import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { singularValues } from '../../core/linalg/singularValues.js';
import { HelperThreads } from '../../core/linalg/helperThreads.js';
import { EmbeddedEngine } from '../../core/engines/embedded.js';
import { SPECTRA_WASM_BASE64 } from '../../core/linalg/wasm/spectraWasm.js';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tempDir } from '../helpers/cli.js';
import { numpySingularValues } from '../helpers/python.js';
import { lowRankMatrix, randomMatrix } from '../helpers/random.js';

function assertMatchesLapack(a: Float32Array, m: number, n: number, ours = singularValues(a, m, n)): void {
  const ref = numpySingularValues(a, m, n);
  assert.equal(ours.length, Math.min(m, n));
  assert.equal(ref.length, ours.length);
  const tol = 1e-4 * ref[0];
  for (let i = 0; i < ref.length; i++) {
    assert.ok(Math.abs(ours[i] - ref[i]) <= tol, `σ[${i}] = ${ours[i]} vs LAPACK ${ref[i]} (tol ${tol})`);
  }
  for (let i = 1; i < ours.length; i++) assert.ok(ours[i] <= ours[i - 1], 'descending');
}

const geometric = (k: number, ratio: number): number[] => Array.from({ length: k }, (_, i) => ratio ** i);

test('random square matrix matches numpy.linalg.svd', () => assertMatchesLapack(randomMatrix(120, 120, 1), 120, 120));
test('tall matrix', () => assertMatchesLapack(randomMatrix(300, 40, 2), 300, 40));
test('wide matrix', () => assertMatchesLapack(randomMatrix(30, 257, 3), 30, 257));
test('1×n and n×1', () => {
  assertMatchesLapack(randomMatrix(1, 50, 4), 1, 50);
  assertMatchesLapack(randomMatrix(50, 1, 5), 50, 1);
});
test('exactly low rank: trailing values are ~0', () => assertMatchesLapack(lowRankMatrix(90, 70, geometric(8, 0.7), 6), 90, 70));
test('ill-conditioned (σ spans 1e-12)', () => assertMatchesLapack(lowRankMatrix(64, 64, geometric(64, 0.65), 7), 64, 64));
test('zero matrix', () => {
  const s = singularValues(new Float32Array(12), 3, 4);
  assert.deepEqual(Array.from(s), [0, 0, 0]);
});
test('a Gram too big for a WebAssembly memory is refused up front, with the reason', () => {
  // Refused from the shape alone, before any data is read.
  assert.throws(() => singularValues(new Float32Array(0), 30000, 30000), /4 GiB/);
});
test('matrix with repeated singular values', () => assertMatchesLapack(lowRankMatrix(40, 40, [3, 3, 3, 1, 1], 8), 40, 40));

// Sizes that leave partial 4-row tiles, partial 32-column panels and partial 128-sample
// Gram chunks, on both sides of the transpose.
test('odd shapes: partial tiles, panels and chunks', () => {
  for (const [m, n, seed] of [[333, 130, 9], [130, 333, 10], [7, 5, 11], [2, 2, 12], [65, 66, 13]]) {
    assertMatchesLapack(randomMatrix(m, n, seed), m, n);
  }
});
test('ill-conditioned and low-rank at blocked sizes', () => {
  assertMatchesLapack(lowRankMatrix(300, 280, geometric(280, 0.9), 14), 300, 280);
  assertMatchesLapack(lowRankMatrix(260, 300, geometric(20, 0.5), 15), 260, 300);
});

describe('with helper threads sharing the kernel memory', () => {
  // The built worker script doubles as the helper (npm run build first).
  const pool = new HelperThreads(new URL('../../dist/worker.js', import.meta.url));
  const helpers = pool.take(1);
  after(() => pool.close());
  test('tall and wide matrices big enough to split every step', () => {
    for (const [m, n, seed] of [[450, 401, 16], [401, 450, 17]]) {
      const a = randomMatrix(m, n, seed);
      assertMatchesLapack(a, m, n, singularValues(a, m, n, helpers));
    }
  });
  test('a helper that cannot instantiate the kernels fails the job instead of hanging it', { timeout: 60_000 }, () => {
    // A module importing a function nobody provides: instantiating it throws a LinkError.
    const unlinkable = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0,
      2, 9, 1, 3, 101, 110, 118, 1, 102, 0, 0]));
    const broken = { count: 1, start: (_m: WebAssembly.Module, memory: WebAssembly.Memory, ctrl: number) => helpers.start(unlinkable, memory, ctrl) };
    assert.throws(() => singularValues(randomMatrix(300, 300, 21), 300, 300, broken), /helper thread failed/);
  });
  test('a second job on the same helpers', () => {
    const a = lowRankMatrix(300, 300, geometric(100, 0.8), 18);
    assertMatchesLapack(a, 300, 300, singularValues(a, 300, 300, helpers));
  });
});

test('EmbeddedEngine.spectrum (workers from dist/worker.js) matches numpy', async () => {
  const engine = new EmbeddedEngine();
  try {
    // Alone, the job takes both cores (worker + helper); then two at once, one core each.
    const a = randomMatrix(520, 610, 19), b = randomMatrix(480, 400, 20);
    assertMatchesLapack(a, 520, 610, await engine.spectrum({ data: a, rows: 520, cols: 610 }));
    const [sa, sb] = await Promise.all([engine.spectrum({ data: a, rows: 520, cols: 610 }), engine.spectrum({ data: b, rows: 480, cols: 400 })]);
    assertMatchesLapack(a, 520, 610, sa);
    assertMatchesLapack(b, 480, 400, sb);
  } finally {
    await engine.close();
  }
});

// The kernels ship prebuilt; these keep the shipped bytes honest to spectra.c.
const wasmDir = new URL('../../core/linalg/wasm/', import.meta.url);
test('the embedded base64 is exactly the committed spectra.wasm', () => {
  assert.deepEqual(Buffer.from(SPECTRA_WASM_BASE64, 'base64'), readFileSync(new URL('spectra.wasm', wasmDir)));
});
const hasClang = ['clang', 'wasm-ld'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);
test('the committed kernels are what scripts/build-wasm.sh makes from spectra.c',
  { skip: !hasClang && 'clang and lld are not installed (apt-get install -y clang lld)' }, () => {
    const out = tempDir();
    const r = spawnSync('bash', ['scripts/build-wasm.sh', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const f of ['spectra.wasm', 'spectraWasm.ts']) {
      assert.ok(readFileSync(`${out}/${f}`).equals(readFileSync(new URL(f, wasmDir))), `${f} is stale: run scripts/build-wasm.sh`);
    }
  });
