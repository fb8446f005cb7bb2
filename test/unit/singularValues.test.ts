import { test } from 'node:test';
import assert from 'node:assert/strict';
import { singularValues } from '../../core/linalg/singularValues.js';
import { numpySingularValues } from '../helpers/python.js';
import { lowRankMatrix, randomMatrix } from '../helpers/random.js';

function assertMatchesLapack(a: Float32Array, m: number, n: number): void {
  const ours = singularValues(a, m, n);
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
test('matrix with repeated singular values', () => assertMatchesLapack(lowRankMatrix(40, 40, [3, 3, 3, 1, 1], 8), 40, 40));
