import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MomentAccumulator } from '../../core/compress/moments.js';
import { WasmGram } from '../../core/linalg/wasmGram.js';
import { HelperThreads } from '../../core/linalg/helperThreads.js';
import { bundledWorkerPath } from '../../core/io/bundledWorker.js';
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

test('a Gram summed with a helper thread equals the one summed alone, bit for bit, in both layouts and in ranges of samples', async () => {
  // 3 000 samples of 160: past the helpers' thresholds (side 128, 2^26 multiply-adds).
  const [n, d] = [3000, 160];
  const x = randomMatrix(n, d, 3), xt = transposed(x, n, d);
  const alone = new WasmGram(d);
  alone.add(x);
  const want = alone.matrix();
  const pool = new HelperThreads(bundledWorkerPath('worker.js'));
  try {
    for (const [data, featureMajor] of [[x, false], [xt, true]] as const) {
      const helped = new WasmGram(d, pool.take(1));
      // A range, then the rest: the chunks are those of one whole add.
      assert.equal(helped.add(data, featureMajor, 0, 1024) + helped.add(data, featureMajor, 1024), n);
      assert.deepEqual(helped.matrix(), want, featureMajor ? 'feature-major' : 'row-major');
    }
  } finally {
    await pool.close();
  }
  const ref = naive(x, n, d);
  for (let i = 0; i < d * d; i++) assert.ok(Math.abs(want[i] / n - ref[i]) <= 1e-12 * (1 + Math.abs(ref[i])));
});

test('moments added in checkpointed pieces (more samples than one piece) equal XᵀX/N, in both layouts', async () => {
  const [n, d] = [5000, 5];
  const x = randomMatrix(n, d, 8);
  const want = naive(x, n, d);
  for (const featureMajor of [false, true]) {
    const acc = new MomentAccumulator(d);
    await acc.addSamplesAsync(featureMajor ? transposed(x, n, d) : x, featureMajor);
    const got = acc.moments();
    assert.equal(got.samples, n);
    for (let i = 0; i < d * d; i++) assert.ok(Math.abs(got.c[i] - want[i]) <= 1e-12 * (1 + Math.abs(want[i])), `${featureMajor ? 'feature-major' : 'row-major'} [${i}]`);
  }
});

test('a batch that is not whole samples is refused', () => {
  assert.throws(() => new MomentAccumulator(3).addSamples(new Float32Array(7)), /whole number/);
});
