// The panel's plan arithmetic, in Node against the core it wraps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { paramsAtRank } from '../../core/ranks/ranks.js';
import { chooseRanks, normaliseRank } from '../../webview/model/allocation.js';
import { tradeoffCurve } from '../../webview/model/curve.js';
import { layerOutcome, totals } from '../../webview/model/totals.js';
import { analysisFixture, UNLAYERED } from './fixture.js';

const analysis = analysisFixture(30, 11);

test('a typed rank past break-even means dense; below 1 means 1', () => {
  const l = analysis.layers.find((x) => x.factorisable && x.breakEvenRank > 2)!;
  const full = Math.min(l.rows, l.cols);
  assert.equal(normaliseRank(l, l.breakEvenRank), l.breakEvenRank);
  assert.equal(normaliseRank(l, l.breakEvenRank + 1), full);
  assert.equal(normaliseRank(l, 0), 1);
  const fixed = analysis.layers.find((x) => !x.factorisable)!;
  assert.equal(normaliseRank(fixed, 1), Math.min(fixed.rows, fixed.cols));
});

test('totals: parameters outside layers are kept, bytes follow the dtype, dense layers lose nothing', () => {
  const ranks = chooseRanks(analysis, { goal: 'energy', keep: 1, energy: 0.9, pins: {} });
  const outcomes = analysis.layers.map((l, i) => layerOutcome(l, ranks[i]));
  const t = totals(analysis, outcomes);
  const layerParams = analysis.layers.reduce((s, l, i) => s + paramsAtRank(l.rows, l.cols, ranks[i]), 0);
  assert.equal(t.params, UNLAYERED + layerParams);
  assert.deepEqual(t.bytes, { f32: t.params * 4, f16: t.params * 2, int8: t.params });
  for (const o of outcomes.filter((x) => x.dense)) assert.deepEqual([o.energyKept, o.relativeError], [1, 0]);
  const rms = Math.sqrt(outcomes.reduce((s, o) => s + o.relativeError ** 2, 0) / outcomes.length);
  assert.equal(t.proxyError, rms);
});

test('the tradeoff curve runs from every free layer at rank 1 to the dense model', () => {
  const curve = [...tradeoffCurve(analysis, {})];
  const smallest = UNLAYERED + analysis.layers.reduce((s, l) =>
    s + paramsAtRank(l.rows, l.cols, l.factorisable ? 1 : Math.min(l.rows, l.cols)), 0);
  assert.equal(curve[0].keep, smallest / analysis.totalParams);
  assert.deepEqual(curve.at(-1), { keep: 1, proxyError: 0 });
  assert.ok(curve[0].proxyError > curve[Math.floor(curve.length / 2)].proxyError);
});
