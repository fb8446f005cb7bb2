// One layer's truncated SVD turned into the two factors a writer stores.
import type { Engine } from '../engines/engine.js';
import type { JobOptions, Layer, Model } from '../types.js';
import type { Factorisation } from './types.js';
import { withLayerBuffer } from '../io/layerBuffers.js';

/** A = U_k·√Σ_k (rows×k), B = √Σ_k·V_kᵀ (k×cols): balanced, so both quantise alike. */
export async function factorize(model: Model, layer: Layer, rank: number, engine: Engine, opts: JobOptions = {}): Promise<Factorisation> {
  const { rows, cols } = layer.matrix;
  const k = Math.max(1, Math.min(rank, rows, cols));
  let total = 0;
  // The SVD of the matrix view from what the file stores, transposed or not: no transposing copy.
  const { u, s, vt } = await withLayerBuffer(async (take) => {
    const stored = await model.readStoredMatrix(layer, take);
    for (let i = 0; i < stored.data.length; i++) total += stored.data[i] * stored.data[i];
    return engine.truncatedSvd({ data: stored.data, rows: stored.rows, cols: stored.cols, transposed: stored.transposed }, k, opts);
  });
  // U (rows×k) and Vᵀ (k×cols) become A and B in place.
  for (let j = 0; j < k; j++) {
    const r = Math.sqrt(s[j]);
    for (let i = 0; i < rows; i++) u[i * k + j] *= r;
    for (let c = 0; c < cols; c++) vt[j * cols + c] *= r;
  }
  let kept = 0;
  for (let j = 0; j < k; j++) kept += s[j] * s[j];
  const relativeError = total > 0 ? Math.sqrt(Math.max(0, total - kept) / total) : 0;
  return { layer, rank: k, a: u, b: vt, relativeError };
}
