import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocate, type AllocLayer } from '../../core/ranks/allocate.js';
import { DEEP_CUT_ENERGY, prepareFlooredAllocation } from '../../core/ranks/deepCuts.js';
import { breakEvenRank, cumulativeEnergy, paramsAtRank } from '../../core/ranks/ranks.js';

const full = (l: AllocLayer): number => Math.min(l.rows, l.cols);
const kept = (l: AllocLayer, k: number): number => (k >= full(l) ? 1 : cumulativeEnergy(l.sigma)[k]);

const layerArb = fc.record({
  rows: fc.integer({ min: 4, max: 40 }),
  cols: fc.integer({ min: 4, max: 40 }),
  decay: fc.double({ min: 0.3, max: 1, noNaN: true }),
}).map(({ rows, cols, decay }) => ({ rows, cols, sigma: Array.from({ length: Math.min(rows, cols) }, (_, i) => decay ** i) }));

test('the floored allocation keeps 70 % of every layer\'s energy whenever the budget allows, at no more cost than the budget; else it is the plain one', () => {
  fc.assert(fc.property(fc.array(layerArb, { minLength: 1, maxLength: 5 }), fc.double({ min: 0.05, max: 1, noNaN: true }), (layers, frac) => {
    const total = layers.reduce((s, l) => s + l.rows * l.cols, 0);
    const budget = Math.floor(total * frac);
    const a = prepareFlooredAllocation(layers).allocate(budget);
    // The cheapest plan above the floor: each layer at its floor rank, or dense where that rank does not pay.
    const least = layers.reduce((s, l) => {
      let k = 1;
      while (kept(l, k) < DEEP_CUT_ENERGY - 1e-12) k++;
      return s + paramsAtRank(l.rows, l.cols, k <= breakEvenRank(l.rows, l.cols) ? k : full(l));
    }, 0);
    if (budget >= least) {
      assert.ok(a.params <= budget, `params ${a.params} > budget ${budget}`);
      layers.forEach((l, i) => assert.ok(kept(l, a.ranks[i]) >= DEEP_CUT_ENERGY - 1e-12, `layer ${i} at rank ${a.ranks[i]} keeps ${kept(l, a.ranks[i])}`));
    } else {
      assert.deepEqual(a.ranks, allocate(layers, budget).ranks);
    }
  }), { numRuns: 300, seed: 5 });
});

test('a budget the plain allocation spends on one deep cut is spread above the floor instead', () => {
  // The summed objective alone keeps the slowly decaying layer dense and pays with the other one.
  const layers: AllocLayer[] = [
    { rows: 64, cols: 64, sigma: Array.from({ length: 64 }, (_, i) => 0.98 ** i) },
    { rows: 64, cols: 64, sigma: Array.from({ length: 64 }, (_, i) => 0.95 ** i) },
  ];
  const budget = 0.6 * 64 * 64 * 2;
  const plain = allocate(layers, budget);
  assert.ok(Math.min(...layers.map((l, i) => kept(l, plain.ranks[i]))) < DEEP_CUT_ENERGY, `plain ranks ${plain.ranks}`);
  const floored = prepareFlooredAllocation(layers).allocate(budget);
  assert.ok(floored.params <= budget);
  layers.forEach((l, i) => assert.ok(kept(l, floored.ranks[i]) >= DEEP_CUT_ENERGY, `floored ranks ${floored.ranks}`));
});
