import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddedEngine } from '../../core/engines/embedded.js';
import { choleskyWithJitter, whitenedFactors, whitenWeight } from '../../core/compress/whiten.js';
import { singularValues } from '../../core/linalg/singularValues.js';
import { randomMatrix } from '../helpers/random.js';

function gram(x: Float32Array, n: number, d: number): Float64Array {
  const c = new Float64Array(d * d);
  for (let s = 0; s < n; s++) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) c[i * d + j] += x[s * d + i] * x[s * d + j] / n;
  return c;
}

function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) { const v = a[i * k + p]; for (let j = 0; j < n; j++) out[i * n + j] += v * b[p * n + j]; }
  return out;
}

test('Cholesky with jitter reconstructs a PD matrix and survives a singular one', () => {
  const d = 12;
  const c = gram(randomMatrix(200, d, 1), 200, d);
  const l = choleskyWithJitter(c, d);
  const llt = matmul(l, Array.from({ length: d * d }, (_, i) => l[(i % d) * d + Math.floor(i / d)]), d, d, d);
  // The first attempt adds 1e-8·mean(diag) of jitter; nothing else may differ.
  for (let i = 0; i < d * d; i++) assert.ok(Math.abs(llt[i] - c[i]) < 1e-7 * (1 + Math.abs(c[i])));
  const singular = gram(randomMatrix(5, d, 2), 5, d); // rank 5 < 12
  assert.ok(choleskyWithJitter(singular, d).every(Number.isFinite));
});

test('whitened SVD: the calibration output error equals the discarded whitened singular values', async () => {
  const n = 400, d = 30, out = 20, k = 6;
  // Correlated inputs, so whitening differs from plain SVD.
  const z = randomMatrix(n, d, 3);
  const mix = randomMatrix(d, d, 4);
  const x = Float32Array.from(matmul(z, mix, n, d, d));
  const w = randomMatrix(d, out, 5);
  const l = choleskyWithJitter(gram(x, n, d), d);
  const engine = new EmbeddedEngine(1);
  try {
    const f = await whitenedFactors(w, d, out, l, k, engine);
    const sigma = singularValues(whitenWeight(l, w, d, out), d, out);
    const discarded = sigma.slice(k).reduce((s, v) => s + v * v, 0);
    const y = matmul(x, w, n, d, out), yk = matmul(matmul(x, f.a, n, d, k), f.b, n, k, out);
    let err = 0;
    for (let i = 0; i < y.length; i++) err += (y[i] - yk[i]) ** 2;
    assert.ok(Math.abs(err / n - discarded) <= 1e-3 * discarded, `output error ${err / n} vs discarded ${discarded}`);
    // And it beats plain SVD's output error at the same rank.
    const { u, s, vt } = await engine.truncatedSvd({ data: w, rows: d, cols: out }, k);
    const us = Float64Array.from({ length: d * k }, (_, i) => u[i] * s[i % k]);
    const yp = matmul(matmul(x, us, n, d, k), vt, n, k, out);
    let plain = 0;
    for (let i = 0; i < y.length; i++) plain += (y[i] - yp[i]) ** 2;
    assert.ok(err < plain, `whitened ${err} vs plain ${plain}`);
  } finally {
    await engine.close();
  }
});

test('Conv2D input moments are im2col statistics: patch·W output error equals the quadratic form in the moments', async () => {
  const tf = await import('@tensorflow/tfjs');
  const { smallCnn } = await import('../fixtures/tfjsModels.js');
  const { tfjsInputMoments } = await import('../../core/runners/tfjsMoments.js');
  const { layersSourceOf } = await import('../helpers/layersSource.js');
  const { openModel } = await import('../../core/formats/open.js');
  const { loadTfjsLayersModel } = await import('../../core/formats/tfjs/runtime.js');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const path = await smallCnn(mkdtempSync(join(tmpdir(), 'reducible-convmoments-')));
  const n = 7;
  const x = { data: randomMatrix(n, 12 * 12 * 3, 5), shape: [n, 12, 12, 3] };
  // c2: 3×3, stride 2, 'same' padding, on c1's 16 channels: patches of 144 values.
  const m = (await tfjsInputMoments(layersSourceOf(await openModel(path)), ['c2'], x, {}, 3)).get('c2')!;
  assert.equal(m.dim, 144);
  assert.equal(m.samples, n * 5 * 5);
  const model = await loadTfjsLayersModel(path);
  const h = tf.model({ inputs: model.inputs, outputs: model.getLayer('c2').input as import('@tensorflow/tfjs').SymbolicTensor }).predict(tf.tensor(x.data, x.shape)) as import('@tensorflow/tfjs').Tensor4D;
  const d = randomMatrix(144, 24, 6);
  const y = tf.conv2d(h, tf.tensor4d(d, [3, 3, 16, 24]), 2, 'same');
  const direct = (await tf.sum(tf.square(y)).data())[0] / m.samples;
  let quad = 0;
  for (let j = 0; j < 24; j++) for (let a = 0; a < 144; a++) for (let b = 0; b < 144; b++) quad += d[a * 24 + j] * m.c[a * 144 + b] * d[b * 24 + j];
  assert.ok(Math.abs(direct - quad) < 1e-4 * direct, `direct ${direct} vs moments ${quad}`);
  model.dispose();
});
