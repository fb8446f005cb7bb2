// A compress job's places for kept Gram reductions (core/compress/reductions.ts): one scratch
// file, made on the first ask; one place per layer, the same on every ask, none overlapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reductions } from '../../core/compress/reductions.js';
import { reductionBytes } from '../../core/linalg/reductionFile.js';
import type { ScratchFile } from '../../core/io/atomicOutput.js';
import type { Layer } from '../../core/types.js';

const layer = (name: string, rows: number, cols: number): Layer => ({ name, matrix: { rows, cols } }) as Layer;

test('Reductions: a place per layer, stable and disjoint, in one scratch file made once', async () => {
  let made = 0;
  const file: ScratchFile = {
    path: '/tmp/scratch', append: () => Promise.reject(new Error('unused')), read: () => Promise.reject(new Error('unused')), reserve: () => { throw new Error('unused'); },
  };
  const r = new Reductions(async () => { made++; return file; });
  assert.equal(made, 0, 'nothing made before a place is asked for');
  const [a, b, a2] = await Promise.all([r.placeOf(layer('a', 300, 200)), r.placeOf(layer('b', 64, 900)), r.placeOf(layer('a', 300, 200))]);
  assert.equal(made, 1);
  assert.deepEqual(a2, a);
  assert.deepEqual([a.path, b.path], [file.path, file.path]);
  // a's side is 200, b's 64: b starts where a's reduction ends.
  assert.deepEqual([a.offset, b.offset], [0, reductionBytes(200)]);
});
