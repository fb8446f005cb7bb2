// Top-1 agreement as every judged choice reports it (core/compress/fidelity.ts): per input for
// class scores, per step for sequence outputs (a recogniser's [lines, steps, classes]), the
// worst output deciding an input; the same figures whether outputs arrive whole or in pieces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FidelitySum, outputsFidelity } from '../../core/compress/fidelity.js';
import type { Tensor } from '../../core/eval/tensor.js';

const tensor = (shape: number[], values: number[]): Tensor => ({ data: Float32Array.from(values), shape });

/** One-hot scores of `classes` classes for the given top-1 indices, in order. */
const scores = (shape: number[], top: number[]): Tensor => {
  const classes = shape[shape.length - 1];
  return tensor(shape, top.flatMap((t) => Array.from({ length: classes }, (_, j) => (j === t ? 1 : 0))));
};

test('class scores: an input agrees when its top-1 agrees', () => {
  const a = scores([4, 3], [0, 1, 2, 0]), b = scores([4, 3], [0, 2, 2, 1]);
  assert.equal(outputsFidelity([a], [b]).top1Agreement, 0.5);
});

test('sequence outputs: the share of steps whose top-1 agrees, not one argmax over the whole line', () => {
  // Two lines of 4 steps over 3 classes: line 0 agrees on 3 steps of 4, line 1 on all 4.
  const a = scores([2, 4, 3], [0, 1, 2, 0, 1, 1, 1, 1]);
  const b = scores([2, 4, 3], [0, 1, 2, 2, 1, 1, 1, 1]);
  const f = outputsFidelity([a], [b]);
  assert.equal(f.top1Agreement, (0.75 + 1) / 2);
  assert.equal(f.samples, 2);
});

test('several outputs: an input counts its worst output', () => {
  const a1 = scores([2, 2], [0, 1]), b1 = scores([2, 2], [0, 0]);
  const a2 = scores([2, 2, 2], [0, 0, 1, 1]), b2 = scores([2, 2, 2], [0, 1, 1, 1]);
  // Input 0: output 1 agrees, output 2 on half its steps → 0.5; input 1: output 1 disagrees → 0.
  assert.equal(outputsFidelity([a1, a2], [b1, b2]).top1Agreement, 0.25);
});

test('outputs added in pieces give the same figures as whole', () => {
  const a = scores([3, 2, 3], [0, 1, 2, 2, 1, 0]), b = scores([3, 2, 3], [0, 2, 2, 2, 0, 0]);
  const sum = new FidelitySum([a]);
  sum.add([tensor([1, 2, 3], [...b.data.subarray(0, 6)])]);
  sum.add([tensor([2, 2, 3], [...b.data.subarray(6)])]);
  assert.deepEqual(sum.fidelity(), outputsFidelity([a], [b]));
  assert.equal(sum.fidelity().top1Agreement, (0.5 + 1 + 0.5) / 3);
});
