// The wording of a layer's hint, from a real layer analysis (core/analysis.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layerAnalysis } from '../../core/analysis.js';
import type { Layer } from '../../core/types.js';
import { hoverMarkdown, sparkline, verdict } from '../../server/render.js';

const layer = (rows: number, cols: number, factorisable = true): Layer => ({
  name: 'fc', kind: 'dense', shape: [rows, cols], matrix: { rows, cols }, params: rows * cols, dtype: 'float32', weight: 'fc/kernel', factorisable,
});

test('sparkline: one block per decade-third of σ/σ_max, widest σ per column', () => {
  assert.equal(sparkline([1, 0.1, 0.01, 0.001]), '█▆▃▁');
  assert.equal(sparkline([2, 2, 2, 2, 1e-9, 0], 3), '██▁');
  assert.equal(sparkline(Array.from({ length: 100 }, (_, i) => 100 - i)).length, 32);
  assert.equal(sparkline([0, 0]), '');
});

test('verdict: factorise with the saving, or why the layer stays dense', () => {
  // Four equal σ then a tail: 99 % energy needs rank 4 of 64.
  const sigma = [...Array(4).fill(10), ...Array(60).fill(0.01)];
  const low = layerAnalysis(layer(128, 64), sigma, 0.99);
  assert.equal(verdict(low, 0.99), `factorise to rank 4: −${Math.round((1 - 4 * 192 / (128 * 64)) * 100)} % params, ${(low.energyKept * 100).toFixed(1)} % energy`);
  const flat = layerAnalysis(layer(128, 64), Array(64).fill(1), 0.99);
  assert.equal(verdict(flat, 0.99), `keep dense: 99.0 % energy needs rank 64, above break-even ${flat.breakEvenRank}`);
  assert.match(verdict(layerAnalysis(layer(128, 64, false), sigma, 0.99), 0.99), /^keep dense: dense layers are not factorised$/);
  const md = hoverMarkdown(low, 0.99, 'model.json');
  assert.match(md, /\| suggested rank \| 4 of 64 \|/);
  assert.match(md, /\| bytes saved \| 29\.0 KiB \|/);
});
