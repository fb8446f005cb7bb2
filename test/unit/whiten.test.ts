import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddedEngine } from '../../core/engines/embedded.js';
import { choleskyWithJitter, solveLowerTransposed, whitenedFactors, whitenWeight } from '../../core/compress/whiten.js';
import { singularValues } from '../../core/linalg/singularValues.js';
import { WasmGram } from '../../core/linalg/wasmGram.js';
import { python } from '../helpers/python.js';
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

/** C = XᵀX/N of N random samples of n features (N < n: singular), from the kernels calibration uses. */
function moments(samples: number, n: number, seed: number): Float64Array {
  const g = new WasmGram(n);
  g.add(randomMatrix(samples, n, seed));
  return g.matrix().map((v) => v / samples);
}

/**
 * numpy/LAPACK: the jitter choleskyWithJitter's rule settles on (numpy.linalg.cholesky
 * deciding PD), L, Lᵀ·W and the solution of Lᵀ·X = Y (numpy.linalg.solve: numpy has no
 * triangular solve).
 */
function numpyWhitening(c: Float64Array, w: Float32Array, y: Float64Array, n: number, cols: number, k: number) {
  const input = Buffer.concat([c, w, y].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
  const out = python([
    'import sys,numpy as np',
    'n,c,k=map(int,sys.argv[1:4]);b=sys.stdin.buffer.read()',
    'C=np.frombuffer(b,"<f8",n*n).reshape(n,n);W=np.frombuffer(b,"<f4",n*c,8*n*n).reshape(n,c).astype(np.float64)',
    'Y=np.frombuffer(b,"<f8",n*k,8*n*n+4*n*c).reshape(n,k);t=0.0',
    'for i in range(n): t+=C[i,i]',
    'j=1e-8*(t/n or 1)',
    'for a in range(12):',
    '  try: L=np.linalg.cholesky(C+j*np.eye(n)); break',
    '  except np.linalg.LinAlgError: j*=10',
    'sys.stdout.buffer.write(np.concatenate([[j],L.ravel(),(L.T@W).ravel(),np.linalg.solve(L.T,Y).ravel()]).astype("<f8").tobytes())',
  ].join('\n'), input, [String(n), String(cols), String(k)]);
  const f = new Float64Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
  return { jitter: f[0], l: f.subarray(1, 1 + n * n), m: f.subarray(1 + n * n, 1 + n * n + n * cols), x: f.subarray(1 + n * n + n * cols) };
}

/** Largest |got − want| relative to the largest |want|. */
function relativeMaxError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < want.length; i++) { d = Math.max(d, Math.abs(got[i] - want[i])); m = Math.max(m, Math.abs(want[i])); }
  return d / m;
}

describe('whitening kernels against numpy/LAPACK, at sizes off the 4-wide tiles and 64-column panels', () => {
  const [cols, k] = [37, 13];
  const inputs = (n: number) => ({ w: randomMatrix(n, cols, 7), y: Float64Array.from(randomMatrix(n, k, 8)) });

  test('a well-conditioned moment (n = 517): L, Lᵀ·W and the solve to rounding', () => {
    const n = 517, c = moments(2 * n, n, 6), { w, y } = inputs(n);
    const want = numpyWhitening(c, w, y, n, cols, k);
    const l = choleskyWithJitter(c, n);
    assert.ok(relativeMaxError(l, want.l) < 1e-12, `L: ${relativeMaxError(l, want.l)}`);
    // Lᵀ·W is summed in f64 and rounded once to f32: at most half an f32 ulp from numpy's, bar f64 rounding.
    const m = whitenWeight(l, w, n, cols);
    for (let i = 0; i < m.length; i++) assert.ok(Math.abs(m[i] - want.m[i]) <= 2 ** -24 * Math.abs(want.m[i]) + 1e-12, `M[${i}] ${m[i]} vs ${want.m[i]}`);
    const x = solveLowerTransposed(l, y, n, k);
    assert.ok(relativeMaxError(x, want.x) < 1e-12, `X: ${relativeMaxError(x, want.x)}`);
  });

  test('a singular moment (rank 5 of 67) takes the jitter numpy settles on: L·Lᵀ = C + jitter·I to rounding', () => {
    const n = 67, c = moments(5, n, 9), { w, y } = inputs(n);
    const { jitter } = numpyWhitening(c, w, y, n, cols, k);
    const l = choleskyWithJitter(c, n);
    let worst = 0, scale = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let p = 0; p <= j; p++) s += l[i * n + p] * l[j * n + p];
      worst = Math.max(worst, Math.abs(s - c[i * n + j] - (i === j ? jitter : 0)));
      scale = Math.max(scale, Math.abs(c[i * n + j]));
    }
    // Another attempt's jitter would be off by 9·jitter ≈ 1e-7·scale.
    assert.ok(worst < 1e-14 * scale, `residual ${worst} of ${scale}`);
  });

  test('an indefinite matrix is retried with ten times the jitter until PD, as numpy finds it', () => {
    // One diagonal entry down by 20·mean(diag): an eigenvalue near −19·mean(diag) while the
    // trace, which scales the jitter, stays positive. PD from the 11th attempt (jitter
    // 1e2·trace/n ≈ 85·mean(diag)), and well conditioned there.
    const n = 130, c = moments(3 * n, n, 10), { w, y } = inputs(n);
    let mean = 0;
    for (let i = 0; i < n; i++) mean += c[i * n + i] / n;
    c[0] -= 20 * mean;
    const want = numpyWhitening(c, w, y, n, cols, k);
    assert.ok(want.jitter > 50 * mean && want.jitter < 200 * mean, `numpy's jitter ${want.jitter} for mean(diag) ${mean}`);
    const l = choleskyWithJitter(c, n);
    assert.ok(relativeMaxError(l, want.l) < 1e-12, `L: ${relativeMaxError(l, want.l)}`);
    assert.ok(relativeMaxError(solveLowerTransposed(l, y, n, k), want.x) < 1e-12);
  });

  test('a matrix no jitter makes PD is refused with the same message', () => {
    const n = 9, c = new Float64Array(n * n);
    for (let i = 0; i < n; i++) c[i * n + i] = i === 4 ? -1e6 : 1;
    assert.throws(() => choleskyWithJitter(c, n), /calibration statistics are not positive definite even with jitter/);
  });
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
