import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocate, prepareAllocation, type AllocLayer } from '../../core/ranks/allocate.js';
import { greedyAllocation as referenceGreedyAllocation } from './referenceAllocate.js';
import { breakEvenRank, cumulativeEnergy, paramsAtRank, rankForEnergy, suggestedRank } from '../../core/ranks/ranks.js';

test('break-even rank is the largest k with k(m+n) < mn', () => {
  for (const [m, n] of [[784, 512], [1, 50], [10, 10], [3, 4], [4096, 4096], [768, 3072]]) {
    const k = breakEvenRank(m, n);
    assert.ok(k * (m + n) < m * n || k === 0, `${m}×${n}: ${k}`);
    assert.ok((k + 1) * (m + n) >= m * n || k === Math.min(m, n), `${m}×${n}: ${k}+1 still pays`);
  }
  assert.equal(breakEvenRank(784, 512), 309);
  assert.equal(breakEvenRank(1, 50), 0);
});

test('energy rank and suggested rank', () => {
  const sigma = [10, 5, 1, 0.1];
  assert.equal(rankForEnergy(sigma, 0.75), 1);
  assert.equal(rankForEnergy(sigma, 0.8), 2);
  assert.equal(rankForEnergy(sigma, 0.99), 2);
  assert.equal(rankForEnergy(sigma, 1), 4);
  // 4×4: break-even is 1, so rank 2 does not pay: leave dense.
  assert.equal(suggestedRank(sigma, 4, 4, 0.99), 4);
  assert.equal(suggestedRank(sigma, 100, 100, 0.99), 2);
  const cum = cumulativeEnergy(sigma);
  assert.equal(cum[0], 0);
  assert.ok(Math.abs(cum[4] - 1) < 1e-15);
});

function objective(layers: AllocLayer[], ranks: number[]): number {
  return layers.reduce((s, l, i) => {
    const full = Math.min(l.rows, l.cols);
    return s + (ranks[i] >= full ? 0 : 1 - cumulativeEnergy(l.sigma)[ranks[i]]);
  }, 0);
}

function bruteForce(layers: AllocLayer[], budget: number): number {
  let best = Infinity;
  const opts = layers.map((l) => [...Array.from({ length: breakEvenRank(l.rows, l.cols) }, (_, i) => i + 1), Math.min(l.rows, l.cols)]);
  const walk = (i: number, ranks: number[], params: number): void => {
    if (params > budget) return;
    if (i === layers.length) { best = Math.min(best, objective(layers, ranks)); return; }
    for (const k of opts[i]) walk(i + 1, [...ranks, k], params + paramsAtRank(layers[i].rows, layers[i].cols, k));
  };
  walk(0, [], 0);
  return best;
}

const layerArb = fc.record({
  rows: fc.integer({ min: 3, max: 12 }),
  cols: fc.integer({ min: 3, max: 12 }),
  decay: fc.double({ min: 0.1, max: 0.99, noNaN: true }),
}).map(({ rows, cols, decay }) => ({ rows, cols, sigma: Array.from({ length: Math.min(rows, cols) }, (_, i) => decay ** i) }));

test('allocation is optimal against brute force on random small instances', () => {
  fc.assert(fc.property(fc.array(layerArb, { minLength: 1, maxLength: 4 }), fc.double({ min: 0.05, max: 1, noNaN: true }), (layers, frac) => {
    const total = layers.reduce((s, l) => s + l.rows * l.cols, 0);
    const minimum = layers.reduce((s, l) => s + paramsAtRank(l.rows, l.cols, breakEvenRank(l.rows, l.cols) > 0 ? 1 : Math.min(l.rows, l.cols)), 0);
    const budget = Math.max(minimum, Math.floor(total * frac));
    const a = allocate(layers, budget);
    assert.ok(a.params <= budget, `params ${a.params} > budget ${budget}`);
    const best = bruteForce(layers, budget);
    assert.ok(a.objective <= best + 1e-9, `objective ${a.objective} vs optimum ${best}`);
  }), { numRuns: 400, seed: 7 });
});

test('sensitivity weighting is monotone: a heavier layer never gets a worse approximation', () => {
  fc.assert(fc.property(fc.array(layerArb, { minLength: 2, maxLength: 4 }), fc.double({ min: 0.05, max: 1, noNaN: true }),
    fc.nat(3), fc.double({ min: 1.01, max: 100, noNaN: true }), (layers, frac, pick, factor) => {
      const i = pick % layers.length;
      const total = layers.reduce((s, l) => s + l.rows * l.cols, 0);
      const minimum = layers.reduce((s, l) => s + paramsAtRank(l.rows, l.cols, breakEvenRank(l.rows, l.cols) > 0 ? 1 : Math.min(l.rows, l.cols)), 0);
      const budget = Math.max(minimum, Math.floor(total * frac));
      const weights = layers.map((_, j) => 1 + j / 3);
      const light = allocate(layers.map((l, j) => ({ ...l, weight: weights[j] })), budget);
      const heavy = allocate(layers.map((l, j) => ({ ...l, weight: j === i ? weights[j] * factor : weights[j] })), budget);
      // Compare discarded energy rather than ranks: with equal errors either rank is optimal.
      const discarded = (k: number): number => (k >= Math.min(layers[i].rows, layers[i].cols) ? 0 : 1 - cumulativeEnergy(layers[i].sigma)[k]);
      assert.ok(discarded(heavy.ranks[i]) <= discarded(light.ranks[i]) + 1e-12, `layer ${i}: rank ${light.ranks[i]} → ${heavy.ranks[i]} when its weight grew ×${factor}`);
      assert.ok(heavy.params <= budget);
    }), { numRuns: 400, seed: 11 });
});

test('pinned layers keep their rank', () => {
  const layers: AllocLayer[] = [
    { rows: 50, cols: 40, sigma: Array.from({ length: 40 }, (_, i) => 0.9 ** i), pinned: 7 },
    { rows: 60, cols: 30, sigma: Array.from({ length: 30 }, (_, i) => 0.8 ** i) },
  ];
  const a = allocate(layers, 1500);
  assert.equal(a.ranks[0], 7);
  assert.ok(a.params <= 1500);
});

test('large instances use the greedy path and stay within budget, close to the LP bound', () => {
  const layers: AllocLayer[] = Array.from({ length: 60 }, (_, i) => {
    const n = 64 + (i % 7) * 64;
    return { rows: n, cols: n + 32, sigma: Array.from({ length: n }, (_, j) => Math.exp(-j / (10 + (i % 13)))) };
  });
  const total = layers.reduce((s, l) => s + l.rows * l.cols, 0);
  const a = allocate(layers, total * 0.3);
  assert.ok(a.params <= total * 0.3);
  assert.ok(a.params >= total * 0.3 - 2 * (448 + 480), 'budget is spent up to less than a rank step or two');
  // More budget never hurts.
  assert.ok(allocate(layers, total * 0.4).objective <= a.objective);
});

// Spectra with flat runs (collinear error steps, off the hull: the exchange pass's moves),
// zero tails (error plateaus) and a few pins and weights: the ties the fast path must break
// the way the reference does.
const mixedLayerArb = fc.record({
  rows: fc.integer({ min: 2, max: 80 }),
  cols: fc.integer({ min: 2, max: 80 }),
  decay: fc.oneof(fc.double({ min: 0.05, max: 0.99, noNaN: true }), fc.double({ min: 0.99, max: 1, noNaN: true })),
  levels: fc.constantFrom(1, 2, 8, 1e9),
  zeroShare: fc.constantFrom(0, 0, 0.3, 0.6, 0.9),
  // About one layer in six pinned (pin > 0), one in three weighted (weight ≥ 0).
  pin: fc.integer({ min: -450, max: 90 }),
  weight: fc.double({ min: -6, max: 3, noNaN: true }),
}).map(({ rows, cols, decay, levels, zeroShare, pin, weight }): AllocLayer => {
  const n = Math.min(rows, cols);
  const zeroTail = Math.floor(n * zeroShare);
  const sigma = Array.from({ length: n }, (_, i) => (i >= n - zeroTail ? 0 : Math.max(1 / levels, Math.round(decay ** i * levels) / levels)));
  return { rows, cols, sigma, ...(pin > 0 ? { pinned: pin } : {}), ...(weight >= 0 ? { weight } : {}) };
});

// Power-of-two sizes and a flat run of σ = 1 then zeros: every energy share is exact, so
// the flat run's steps are exactly collinear (off the hull, bought by the exchange pass) and
// the zeros make exact error plateaus where the smallest rank must win.
const exactLayerArb = fc.record({
  rows: fc.constantFrom(8, 16, 32, 64),
  cols: fc.constantFrom(8, 16, 32, 64),
  flat: fc.constantFrom(1, 2, 4, 8, 16, 32),
}).map(({ rows, cols, flat }): AllocLayer => {
  const n = Math.min(rows, cols);
  return { rows, cols, sigma: Array.from({ length: n }, (_, i) => (i < Math.min(flat, n) ? 1 : 0)) };
});

test('the prepared greedy path reproduces the reference greedy allocator rank for rank, at every budget', () => {
  fc.assert(fc.property(fc.array(fc.oneof(mixedLayerArb, exactLayerArb), { minLength: 1, maxLength: 12 }), fc.array(fc.double({ min: 0, max: 1.05, noNaN: true }), { minLength: 1, maxLength: 6 }), (layers, fracs) => {
    const total = layers.reduce((s, l) => s + l.rows * l.cols, 0);
    const prepared = prepareAllocation(layers);
    for (const frac of fracs) {
      const budget = total * frac;
      const want = referenceGreedyAllocation(layers, budget);
      const got = prepared.greedy(budget);
      assert.deepEqual(got.ranks, want.ranks);
      assert.equal(got.params, want.params);
      assert.equal(got.objective, want.objective);
    }
  }), { numRuns: 1000, seed: 11 });
});
