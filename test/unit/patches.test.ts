// Convolution input statistics cut their patches in patches.ts: every output position where the
// Gram stays cheap, a uniform sub-grid of them where it would not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nchwPatchColumns, patchRows, positionSteps, type ConvGeometry } from '../../core/compress/patches.js';
import { randomMatrix } from '../helpers/random.js';

test('small convolutions keep every output position', () => {
  assert.deepEqual(positionSteps(28, 28, 3 * 3 * 32), [1, 1]);
  assert.deepEqual(positionSteps(24, 160, 27), [1, 1]);
});

test('a wide convolution\'s patches are those of a sub-grid of output positions, within the Gram budget', async () => {
  const tf = await import('@tensorflow/tfjs');
  // Basic Pitch's 3×39 convolution over 8 channels, stride 1, no padding, on a 2-D map of 40 × 300.
  const [h, w, cin, kh, kw] = [40, 300, 8, 3, 39];
  const x = randomMatrix(1, h * w * cin, 11);
  const cutter = patchRows(tf, { kernel: [kh, kw], strides: [1, 1], padding: 'valid', dilation: [1, 1] }, cin);
  const d = kh * kw * cin;
  const rows = tf.tidy(() => cutter.rows(tf.tensor4d(x, [1, h, w, cin])));
  const got = rows.dataSync();
  const [oh, ow] = [h - kh + 1, w - kw + 1];
  const [ty, tx] = positionSteps(oh, ow, d);
  const [ry, rx] = [Math.ceil(oh / ty), Math.ceil(ow / tx)];
  assert.ok(ty * tx > 1, 'this convolution is thinned');
  assert.equal(rows.shape[0], ry * rx);
  assert.ok(rows.shape[0] * d * d <= 2 ** 30, `${rows.shape[0]} positions of ${d} values`);
  // Row r is the patch at output position (oy·ty, ox·tx), in (kh, kw, cin) order.
  for (const r of [0, 1, rx, ry * rx - 1, Math.floor(ry * rx / 2)]) {
    const [y0, x0] = [Math.floor(r / rx) * ty, (r % rx) * tx];
    for (let dy = 0; dy < kh; dy++) for (let dx = 0; dx < kw; dx++) for (let c = 0; c < cin; c++) {
      assert.equal(got[r * d + (dy * kw + dx) * cin + c], x[((y0 + dy) * w + x0 + dx) * cin + c], `row ${r} at (${dy}, ${dx}, ${c})`);
    }
  }
  rows.dispose();
});

test('an NCHW batch cut on the host gives the patches tfjs cuts from its NHWC view, in (cin, kh, kw) order, feature-major', async () => {
  const tf = await import('@tensorflow/tfjs');
  const cases: { g: ConvGeometry; shape: [number, number, number, number] }[] = [
    { g: { kernel: [3, 3], strides: [1, 1], padding: [[0, 0], [1, 1], [1, 1], [0, 0]], dilation: [1, 1] }, shape: [2, 5, 7, 9] },
    { g: { kernel: [3, 2], strides: [2, 1], padding: [[0, 0], [1, 0], [0, 2], [0, 0]], dilation: [1, 2] }, shape: [3, 4, 9, 8] },
    { g: { kernel: [1, 1], strides: [1, 1], padding: 'valid', dilation: [1, 1] }, shape: [2, 6, 3, 5] },
    { g: { kernel: [3, 3], strides: [2, 2], padding: 'same', dilation: [1, 1] }, shape: [1, 3, 8, 7] },
    // Thinned to a sub-grid (positionSteps).
    { g: { kernel: [3, 39], strides: [1, 1], padding: 'valid', dilation: [1, 1] }, shape: [1, 8, 40, 300] },
  ];
  for (const { g, shape } of cases) {
    const [n, cin, h, w] = shape;
    const x = randomMatrix(1, n * cin * h * w, 5);
    const [kh, kw] = g.kernel;
    // patchRows' rows, (kh, kw, cin), reordered to (cin, kh, kw) and turned feature-major.
    const expected = tf.tidy(() => {
      const rows = patchRows(tf, g, cin).rows(tf.transpose(tf.tensor4d(x, shape), [0, 2, 3, 1]));
      return tf.transpose(tf.reshape(tf.transpose(tf.reshape(rows, [-1, kh * kw, cin]), [0, 2, 1]), [-1, cin * kh * kw]));
    }).dataSync();
    const got = nchwPatchColumns(x, shape, g);
    assert.equal(got.length, expected.length, JSON.stringify(g));
    assert.deepEqual(got, expected, JSON.stringify(g));
  }
});
