import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddedEngine } from '../../core/engines/embedded.js';
import { relayoutApproximation, relayoutShape, toAuxiliary } from '../../core/compress/relayout.js';
import { factorize, ownCopy } from '../../core/compress/factorize.js';
import { singularValues } from '../../core/linalg/singularValues.js';
import { randomMatrix } from '../helpers/random.js';
import type { Layer, Model } from '../../core/types.js';

test('relayout shape covers the weight with q coprime to the row length', () => {
  for (const [m, n] of [[784, 512], [512, 256], [144, 32], [7, 3]]) {
    const { p, q } = relayoutShape(m, n);
    assert.ok(p * q >= m * n && p * q < m * n + q);
    let a = q, b = n; while (b) [a, b] = [b, a % b];
    assert.equal(a, 1, `gcd(${q}, ${n})`);
  }
});

test('a weight whose re-layout is rank 2 is recovered exactly by relayout and not by plain SVD at equal params', async () => {
  const m = 60, n = 40;
  const { p, q } = relayoutShape(m, n);
  // X = A·B (p×q, rank 2) read out as m×n: full-rank as a 60×40 matrix.
  const a = randomMatrix(p, 2, 1), b = randomMatrix(2, q, 2);
  a.fill(0, (p - 1) * 2); // X's last row is zero, so the zero padding after W's entries is X's own
  const w = new Float32Array(m * n);
  for (let idx = 0; idx < w.length; idx++) { const i = Math.floor(idx / q), j = idx % q; w[idx] = a[i * 2] * b[j] + a[i * 2 + 1] * b[q + j]; }
  assert.ok(Array.from(singularValues(w, m, n)).filter((s) => s > 1e-3).length > 20, 'W itself is far from low rank');
  const engine = new EmbeddedEngine();
  try {
    const r = await relayoutApproximation(w, m, n, 2, engine);
    assert.ok(r.relativeError < 1e-4, `relayout error ${r.relativeError}`);
    assert.equal(r.params, 2 * (p + q));
    const layer = { name: 'w', matrix: { rows: m, cols: n } } as Layer;
    // A copy each read: the engine takes the buffer it is given.
    const model = { readStoredMatrix: async () => ({ data: Float32Array.from(w), rows: m, cols: n, transposed: false }) } as unknown as Model;
    const plain = await factorize(model, layer, Math.floor(r.params / (m + n)), engine, {}, ownCopy);
    assert.ok(plain.relativeError > 0.3, `plain SVD at equal params: ${plain.relativeError}`);
    assert.deepEqual(Array.from(toAuxiliary(w, p, q).subarray(0, m * n)), Array.from(w));
  } finally {
    await engine.close();
  }
});
