// One layer's truncated SVD turned into the two factors a writer stores.
import type { Engine, FactorPlace, SvdOptions, TruncatedSvd } from '../engines/engine.js';
import type { Layer, Model } from '../types.js';
import type { Factorisation, FactorShape } from './types.js';
import { withLayerBuffer } from '../io/layerBuffers.js';

/**
 * Takes a layer's factors while they are views of reused shared memory: they are valid only
 * until the returned promise settles, so whatever outlives that is written out or copied.
 */
export type KeepFactors<T> = (f: Factorisation) => Promise<T>;

/**
 * Where an engine that writes files (Engine.files) puts a layer's factors itself, standing
 * for a KeepFactors: a region reserved for them, then what `keep` would have returned.
 */
export interface FactorsToFile<T> {
  reserve(layer: Layer, rank: number): Promise<FactorPlace>;
  written(f: FactorShape, place: FactorPlace): T;
}

/** Keeps the factors in arrays of their own. */
export const ownCopy: KeepFactors<Factorisation> = async (f) => ({ ...f, a: f.a.slice(), b: f.b.slice() });

/** A = U_k·√Σ_k (rows×k), B = √Σ_k·V_kᵀ (k×cols), made in place from U and Vᵀ: balanced, so both quantise alike. */
export function balanced({ u, s, vt }: TruncatedSvd, rows: number, cols: number): { a: Float32Array; b: Float32Array } {
  const k = s.length;
  for (let j = 0; j < k; j++) {
    const r = Math.sqrt(s[j]);
    for (let i = 0; i < rows; i++) u[i * k + j] *= r;
    for (let c = 0; c < cols; c++) vt[j * cols + c] *= r;
  }
  return { a: u, b: vt };
}

/** ‖W − W_k‖_F / ‖W‖_F when W_k keeps the singular values `kept` of W's `total` energy (Σ w²). */
export function truncationError(kept: ArrayLike<number>, total: number): number {
  let e = 0;
  for (let i = 0; i < kept.length; i++) e += kept[i] * kept[i];
  return total > 0 ? Math.sqrt(Math.max(0, total - e) / total) : 0;
}

/**
 * The layer's rank-`rank` factors (balanced), handed to `keep`; or, where `toFile` is given and
 * the engine reads the layer from the model's file itself, written by the engine there.
 */
export async function factorize<T>(
  model: Model, layer: Layer, rank: number, engine: Engine, opts: Omit<SvdOptions, 'into'>, keep: KeepFactors<T>, toFile?: FactorsToFile<T>,
): Promise<T> {
  const { rows, cols } = layer.matrix;
  const k = Math.max(1, Math.min(rank, rows, cols));
  const where = toFile && engine.files && model.matrixFile?.(layer);
  if (where) {
    const place = await toFile.reserve(layer, k);
    const { s, energy } = await engine.files!.factors(where, k, place, opts);
    return toFile.written({ layer, rank: k, relativeError: truncationError(s, energy) }, place);
  }
  return withLayerBuffer(async (take) => {
    // The SVD of the matrix view from what the file stores, transposed or not: no transposing copy.
    const stored = await model.readStoredMatrix(layer, take);
    let total = 0;
    for (let i = 0; i < stored.data.length; i++) total += stored.data[i] * stored.data[i];
    const finish = async (into: Float32Array): Promise<T> => {
      const svd = await engine.truncatedSvd({ data: stored.data, rows: stored.rows, cols: stored.cols, transposed: stored.transposed }, k, { ...opts, into });
      return keep({ layer, rank: k, ...balanced(svd, rows, cols), relativeError: truncationError(svd.s, total) });
    };
    // The factors overwrite the layer in its buffer when they fit, which they do whenever they
    // save parameters; otherwise they get a shared buffer of their own.
    const need = k * (rows + cols);
    return need <= stored.data.length && stored.data.buffer instanceof SharedArrayBuffer
      ? finish(stored.data)
      : withLayerBuffer((more) => finish(more(need)));
  });
}

/** A·B (rows×k times k×cols), accumulated in f64. */
export function factorProduct(a: Float32Array, b: Float32Array, rows: number, cols: number, k: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const row = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) { const aip = a[i * k + p]; for (let j = 0; j < cols; j++) row[j] += aip * b[p * cols + j]; }
    out.set(row, i * cols);
  }
  return out;
}
