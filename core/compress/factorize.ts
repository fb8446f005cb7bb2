// One layer's truncated SVD turned into the two factors a writer stores.
import type { Engine } from '../engines/engine.js';
import type { JobOptions, Layer, Model } from '../types.js';
import type { Factorisation } from './types.js';
import { withLayerBuffer } from '../io/layerBuffers.js';

/** A = U_k·√Σ_k (rows×k), B = √Σ_k·V_kᵀ (k×cols): balanced, so both quantise alike. */
export async function factorize(model: Model, layer: Layer, rank: number, engine: Engine, opts: JobOptions = {}): Promise<Factorisation> {
  const { rows, cols } = layer.matrix;
  // The SVD of what the file stores: for a stored transpose Sᵀ = A, U and V swap roles.
  const k = Math.max(1, Math.min(rank, rows, cols));
  let total = 0;
  const { transposed, u, s, vt } = await withLayerBuffer(async (take) => {
    const stored = await model.readStoredMatrix(layer, take);
    for (let i = 0; i < stored.data.length; i++) total += stored.data[i] * stored.data[i];
    return { transposed: stored.transposed, ...await engine.truncatedSvd({ data: stored.data, rows: stored.rows, cols: stored.cols }, k, opts) };
  });
  const a = new Float32Array(rows * k);
  const b = new Float32Array(k * cols);
  for (let j = 0; j < k; j++) {
    const r = Math.sqrt(s[j]);
    if (transposed) {
      // u is cols×k (A's V), vt is k×rows (A's Uᵀ).
      for (let i = 0; i < rows; i++) a[i * k + j] = vt[j * rows + i] * r;
      for (let c = 0; c < cols; c++) b[j * cols + c] = u[c * k + j] * r;
    } else {
      for (let i = 0; i < rows; i++) a[i * k + j] = u[i * k + j] * r;
      for (let c = 0; c < cols; c++) b[j * cols + c] = vt[j * cols + c] * r;
    }
  }
  let kept = 0;
  for (let j = 0; j < k; j++) kept += s[j] * s[j];
  const relativeError = total > 0 ? Math.sqrt(Math.max(0, total - kept) / total) : 0;
  return { layer, rank: k, a, b, relativeError };
}
