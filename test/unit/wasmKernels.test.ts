// The wasm backend's products, transposes and leading-axis sums as Reducible registers them
// (core/formats/tfjs/wasmKernels.ts) give what the definitions give, computed here in plain
// JavaScript: every transpose flag, batched and odd shapes (not multiples of the 32-wide tile),
// gradients through them, and the cases handed back to the backend's own kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tfjs } from '../../core/formats/tfjs/runtime.js';
import { mulberry32 } from '../../core/linalg/mulberry32.js';

const random = mulberry32(7);
const values = (n: number): Float32Array => Float32Array.from({ length: n }, () => random() * 2 - 1);

/** a (m×k, row-major) times b (k×n). */
function product(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) out[i * n + j] += a[i * k + p] * b[p * n + j];
  return out;
}
function transpose(x: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
  return out;
}
function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 * (1 + Math.abs(want[i])), `${what}: element ${i} ${got[i]} vs ${want[i]}`);
}

test('the wasm backend is the one these kernels replace', async () => {
  const tf = await tfjs();
  assert.equal(tf.getBackend(), 'wasm');
});

test('products with every transpose flag equal the definition, at shapes off the tile size', async () => {
  const tf = await tfjs();
  const [m, k, n] = [37, 70, 45];
  const a = values(m * k), b = values(k * n);
  const want = product(a, b, m, k, n);
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    const at = ta ? tf.tensor2d(transpose(a, m, k), [k, m]) : tf.tensor2d(a, [m, k]);
    const bt = tb ? tf.tensor2d(transpose(b, k, n), [n, k]) : tf.tensor2d(b, [k, n]);
    const y = tf.matMul(at, bt, ta, tb);
    assert.deepEqual(y.shape, [m, n]);
    close(y.dataSync(), want, `transposeA=${ta} transposeB=${tb}`);
    // Fused with a bias and an activation (what a Dense layer runs).
    const bias = values(n);
    const f = tf.fused.matMul({ a: at, b: bt, transposeA: ta, transposeB: tb, bias: tf.tensor1d(bias), activation: 'relu' });
    close(f.dataSync(), Array.from(want, (v, i) => Math.max(0, v + bias[i % n])), `fused transposeA=${ta} transposeB=${tb}`);
    tf.dispose([at, bt, y, f]);
  }
});

test('batched transposes swap the last two axes of every matrix; other permutations go to the backend', async () => {
  const tf = await tfjs();
  const [batch, rows, cols] = [3, 33, 65];
  const x = values(batch * rows * cols);
  const y = tf.transpose(tf.tensor3d(x, [batch, rows, cols]), [0, 2, 1]);
  assert.deepEqual(y.shape, [batch, cols, rows]);
  const want = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) want.set(transpose(x.subarray(b * rows * cols, (b + 1) * rows * cols), rows, cols), b * rows * cols);
  close(y.dataSync(), want, 'batched transpose');
  const z = tf.transpose(tf.tensor3d(x, [batch, rows, cols]), [2, 0, 1]);
  assert.deepEqual(z.shape, [cols, batch, rows]);
  assert.equal(z.dataSync()[1], x[cols]); // z[c][b][r] = x[b][r][c]: element 1 is x[0][1][0]
});

test('sums over leading axes equal the definition (keepDims too); other sums go to the backend', async () => {
  const tf = await tfjs();
  const [a, b, c] = [5, 7, 40];
  const x = values(a * b * c);
  const t = tf.tensor3d(x, [a, b, c]);
  const lead = new Float64Array(c);
  for (let i = 0; i < a * b; i++) for (let j = 0; j < c; j++) lead[j] += x[i * c + j];
  const s = tf.sum(t, [0, 1]);
  assert.deepEqual(s.shape, [c]);
  close(s.dataSync(), lead, 'sum over axes 0 and 1');
  assert.deepEqual(tf.sum(t, [1, 0], true).shape, [1, 1, c]);
  close(tf.sum(t, [-3, -2], true).dataSync(), lead, 'negative axes, keepDims');
  // The last axis, and all axes: the backend's own kernel.
  const last = tf.sum(t, 2).dataSync();
  close([last[0]], [x.slice(0, c).reduce((p, q) => p + q, 0)], 'sum over the last axis');
  close(tf.sum(t).dataSync(), [x.reduce((p, q) => p + q, 0)], 'sum of all');
});

test('gradients through a Dense-like layer equal the definition', async () => {
  const tf = await tfjs();
  const [m, k, n] = [16, 24, 9];
  const x = values(m * k), w = values(k * n), bias = values(n);
  const [gw, gb] = tf.grads((wv: import('@tensorflow/tfjs').Tensor, bv: import('@tensorflow/tfjs').Tensor) => tf.sum(tf.add(tf.matMul(tf.tensor2d(x, [m, k]), wv), bv)))([tf.tensor2d(w, [k, n]), tf.tensor1d(bias)]);
  // d/dW of Σ(xW + b) = xᵀ·1, d/db = m·1.
  const colSums = Array.from({ length: k }, (_, p) => Array.from({ length: m }, (_, i) => x[i * k + p]).reduce((s, v) => s + v, 0));
  close(gw.dataSync(), Array.from({ length: k * n }, (_, i) => colSums[Math.floor(i / n)]), 'weight gradient');
  close(gb.dataSync(), new Array(n).fill(m), 'bias gradient');
});
