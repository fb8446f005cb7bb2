import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MomentAccumulator } from '../../core/compress/moments.js';
import { randomMatrix } from '../helpers/random.js';

/** XᵀX/N summed sample by sample in f64. */
function naive(x: Float32Array, n: number, d: number): Float64Array {
  const c = new Float64Array(d * d);
  for (let s = 0; s < n; s++) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) c[i * d + j] += x[s * d + i] * x[s * d + j];
  return c.map((v) => v / n);
}

function transposed(x: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c];
  return t;
}

test('streamed moments equal XᵀX/N, row-major and feature-major, in uneven batches and sizes not a multiple of the kernel tile', () => {
  for (const d of [1, 7, 130]) {
    const n = 300;
    const x = randomMatrix(n, d, d);
    const want = naive(x, n, d);
    for (const featureMajor of [false, true]) {
      const acc = new MomentAccumulator(d);
      // Batches of 37 and a remainder; each batch crosses the kernel's 128-sample chunks differently.
      for (let s = 0; s < n; s += 37) {
        const rows = Math.min(37, n - s), batch = x.subarray(s * d, (s + rows) * d);
        acc.addSamples(featureMajor ? transposed(batch, rows, d) : batch, featureMajor);
      }
      const got = acc.moments();
      assert.equal(got.samples, n);
      for (let i = 0; i < d * d; i++) assert.ok(Math.abs(got.c[i] - want[i]) <= 1e-12 * (1 + Math.abs(want[i])), `d=${d} ${featureMajor ? 'feature-major' : 'row-major'} [${i}] ${got.c[i]} vs ${want[i]}`);
    }
  }
});

test('a batch that is not whole samples is refused', () => {
  assert.throws(() => new MomentAccumulator(3).addSamples(new Float32Array(7)), /whole number/);
});
