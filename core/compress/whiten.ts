// Data-aware (whitened) truncated SVD. With C = XᵀX/N the input second moment of a layer
// y = x·W, the output error on the calibration data is ‖Lᵀ(W − W')‖_F with C = L·Lᵀ. So we
// truncate the SVD of M = Lᵀ·W and map back: W' = L⁻ᵀ·M_k. The discarded singular values of
// M are exactly the output error — which is what both the factors and the allocator should
// minimise, not the weight error.
import type { Engine } from '../engines/engine.js';
import type { JobOptions } from '../types.js';
import { cholesky, lowerTransposedSolve, lowerTransposedTimes } from '../linalg/wasmTriangular.js';

/** Lower Cholesky factor of the symmetric n×n f64 matrix `c`, with jitter added until PD. */
export function choleskyWithJitter(c: Float64Array, n: number): Float64Array {
  let trace = 0;
  for (let i = 0; i < n; i++) trace += c[i * n + i];
  let jitter = 1e-8 * (trace / n || 1);
  for (let attempt = 0; attempt < 12; attempt++, jitter *= 10) {
    const l = cholesky(c, n, jitter);
    if (l) return l;
  }
  throw new Error('calibration statistics are not positive definite even with jitter');
}

/** M = Lᵀ·W, the whitened weight (f32 for the engine), and the solve of Lᵀ·X = Y that maps factors back. */
export { lowerTransposedTimes as whitenWeight, lowerTransposedSolve as solveLowerTransposed };

export interface WhitenedFactors { a: Float32Array; b: Float32Array; whitenedSigma: Float64Array }

/**
 * Rank-k factors minimising the calibration output error of y = x·W (W rows×cols, rows =
 * inputs): A = L⁻ᵀ·U_k·√Σ_k, B = √Σ_k·V_kᵀ where M = Lᵀ·W = U·Σ·Vᵀ.
 */
export async function whitenedFactors(w: Float32Array, rows: number, cols: number, l: Float64Array, rank: number, engine: Engine, opts: JobOptions = {}): Promise<WhitenedFactors> {
  const m = lowerTransposedTimes(l, w, rows, cols);
  const { u, s, vt } = await engine.truncatedSvd({ data: m, rows, cols }, rank, opts);
  const k = s.length;
  const us = new Float64Array(rows * k);
  for (let i = 0; i < rows; i++) for (let j = 0; j < k; j++) us[i * k + j] = u[i * k + j] * Math.sqrt(s[j]);
  const a = Float32Array.from(lowerTransposedSolve(l, us, rows, k));
  const b = new Float32Array(k * cols);
  for (let j = 0; j < k; j++) { const r = Math.sqrt(s[j]); for (let c = 0; c < cols; c++) b[j * cols + c] = vt[j * cols + c] * r; }
  return { a, b, whitenedSigma: s };
}
