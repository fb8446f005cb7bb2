// The panel's plan arithmetic, in Node against the core it wraps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { paramsAtRank } from '../../core/ranks/ranks.js';
import { chooseRanks, normaliseRank } from '../../webview/model/allocation.js';
import { tradeoffCurve } from '../../webview/model/curve.js';
import { layerOutcome, totals } from '../../webview/model/totals.js';
import { predictBytes } from '../../core/compress/report.js';
import { isDeepCut } from '../../core/ranks/deepCuts.js';
import type { FactorShape } from '../../core/compress/types.js';
import type { Layer, Model, TensorRef } from '../../core/types.js';
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

test('totals: parameters outside layers are kept, bytes fall with the dtype, dense layers lose nothing', () => {
  const ranks = chooseRanks(analysis, { goal: 'energy', keep: 1, energy: 0.9, pins: {} });
  const outcomes = analysis.layers.map((l, i) => layerOutcome(l, ranks[i]));
  const t = totals(analysis, outcomes);
  const layerParams = analysis.layers.reduce((s, l, i) => s + paramsAtRank(l.rows, l.cols, ranks[i]), 0);
  assert.equal(t.params, UNLAYERED + layerParams);
  assert.equal(t.bytes.f32, t.params * 4, 'an all-f32 model with f32 factors');
  assert.ok(t.bytes.int8 < t.bytes.f16 && t.bytes.f16 < t.bytes.f32);
  for (const o of outcomes.filter((x) => x.dense)) assert.deepEqual([o.energyKept, o.relativeError], [1, 0]);
  const rms = Math.sqrt(outcomes.reduce((s, o) => s + o.relativeError ** 2, 0) / outcomes.length);
  assert.equal(t.proxyError, rms);
});

test('deep cuts: every layer past the rule, worst first; none when the plan keeps most', () => {
  const at = (keep: number) => {
    const ranks = chooseRanks(analysis, { goal: 'ratio', keep, energy: 0.99, pins: {} });
    const outcomes = analysis.layers.map((l, i) => layerOutcome(l, ranks[i]));
    return { outcomes, t: totals(analysis, outcomes) };
  };
  const deep = at(0.1);
  const kept = (name: string) => deep.outcomes[analysis.layers.findIndex((l) => l.name === name)].energyKept;
  assert.ok(deep.t.deepCuts.length > 0, 'keeping 10 % cuts some layer past the rule');
  assert.deepEqual(new Set(deep.t.deepCuts), new Set(analysis.layers.filter((_, i) => !deep.outcomes[i].dense && deep.outcomes[i].energyKept < 0.7).map((l) => l.name)));
  for (let i = 1; i < deep.t.deepCuts.length; i++) assert.ok(kept(deep.t.deepCuts[i]) >= kept(deep.t.deepCuts[i - 1]));
  assert.ok(isDeepCut(0.69) && !isDeepCut(0.7));
  assert.deepEqual(at(0.95).t.deepCuts, []);
});

test('the tradeoff curve runs from every free layer at rank 1 to the dense model', () => {
  const curve = [...tradeoffCurve(analysis, {})];
  const smallest = UNLAYERED + analysis.layers.reduce((s, l) =>
    s + paramsAtRank(l.rows, l.cols, l.factorisable ? 1 : Math.min(l.rows, l.cols)), 0);
  assert.equal(curve[0].keep, smallest / analysis.totalParams);
  assert.deepEqual(curve.at(-1), { keep: 1, proxyError: 0 });
  assert.ok(curve[0].proxyError > curve[Math.floor(curve.length / 2)].proxyError);
});

test('predicted bytes per dtype equal the compress job\'s prediction on a mixed-precision model', () => {
  // Half the layers stored as float16 and a float16 bias block: the job keeps what it does not
  // factorise in its stored precision, so the panel must not price those at the chosen dtype.
  const mixed = analysisFixture(30, 5);
  mixed.layers.forEach((l, i) => { if (i % 2) l.dtype = 'float16'; });
  const tensors: TensorRef[] = [
    ...mixed.layers.map((l, i): TensorRef => ({ name: `w${i}`, shape: [l.rows, l.cols], dtype: l.dtype as TensorRef['dtype'], storedBytes: l.rows * l.cols * (l.dtype === 'float16' ? 2 : 4) })),
    { name: 'biases', shape: [UNLAYERED], dtype: 'float16', storedBytes: UNLAYERED * 2 },
  ];
  mixed.tensorBytes = tensors.reduce((s, t) => s + t.storedBytes, 0);
  // The format's bytes besides the tensors: the same on both sides, per factorised layer too.
  mixed.overhead = { base: 2048, perLayer: 150 };
  const ranks = chooseRanks(mixed, { goal: 'ratio', keep: 0.3, energy: 0.99, pins: {} });
  const outcomes = mixed.layers.map((l, i) => layerOutcome(l, ranks[i]));
  const model = { tensors } as unknown as Model;
  const factors = new Map<string, FactorShape>();
  mixed.layers.forEach((l, i) => {
    if (outcomes[i].dense) return;
    const layer = { name: l.name, weight: `w${i}`, matrix: { rows: l.rows, cols: l.cols } } as Layer;
    factors.set(l.name, { layer, rank: ranks[i], relativeError: 0 });
  });
  assert.ok(factors.size > 0 && factors.size < mixed.layers.length, 'some layers factorised, some dense');
  const t = totals(mixed, outcomes);
  for (const dtype of ['f32', 'f16', 'int8'] as const) assert.equal(t.bytes[dtype], predictBytes(model, factors, mixed.overhead, dtype).bytes, dtype);
});
