// How many calibration inputs the sensitivity probes run on (core/compress/sensitivity.ts):
// bounded in input values, so large inputs stay cheap, raised where a model's outputs per
// input are few, so the error each probe measures rests on enough numbers, and halved where one
// input's outputs are already plenty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sensitivitySamples } from '../../core/compress/sensitivity.js';
import type { Tensor } from '../../core/eval/tensor.js';

/** `n` inputs of the given shape (values are not read). */
const inputs = (n: number, ...shape: number[]): Tensor => ({ data: new Float32Array(n * shape.reduce((a, b) => a * b, 1)), shape: [n, ...shape] });

test('small inputs: up to 2 000, whatever the outputs', () => {
  assert.equal(sensitivitySamples(inputs(5000, 784)), 2000);
  assert.equal(sensitivitySamples(inputs(5000, 784), 10), 2000);
  assert.equal(sensitivitySamples(inputs(300, 784), 1), 300);
});

test('large inputs: the input-value bound, halved where one input gives 20 000 output values (a text-line recogniser: 34 lines, 17)', () => {
  assert.equal(sensitivitySamples(inputs(300, 3, 48, 320)), 34);
  assert.equal(sensitivitySamples(inputs(300, 3, 48, 320), 40 * 6625), 17);
  assert.equal(sensitivitySamples(inputs(300, 3, 48, 320), 19_999), 34);
  // At least 32 by input values, even for 640×640 pages; a page of 640×640 scores halves that.
  assert.equal(sensitivitySamples(inputs(300, 3, 640, 640)), 32);
  assert.equal(sensitivitySamples(inputs(300, 3, 640, 640), 640 * 640), 16);
  assert.equal(sensitivitySamples(inputs(10, 3, 640, 640), 640 * 640), 10);
});

test('large inputs with few outputs are raised, at most 8× the bound and never past the inputs given', () => {
  // The orientation classifier: 48×192 pixels in, 2 scores out: 56 by input values.
  assert.equal(sensitivitySamples(inputs(300, 3, 48, 192)), 56);
  assert.equal(sensitivitySamples(inputs(300, 3, 48, 192), 2), 300);
  assert.equal(sensitivitySamples(inputs(5000, 3, 48, 192), 2), 8 * 56);
  // Enough outputs for 20 000 values: 1 000 scores an input need only 20 inputs, so the bound stands.
  assert.equal(sensitivitySamples(inputs(5000, 3, 48, 192), 1000), 56);
  assert.equal(sensitivitySamples(inputs(5000, 3, 48, 192), 100), 200);
});
