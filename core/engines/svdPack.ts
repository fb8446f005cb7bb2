// How both routes of the embedded truncated SVD (exactSvd.ts, randomizedSvd.ts) hand back
// their result: singular values from Gram eigenvalues, and the f64 vector sets packed into
// the engine's f32 arrays.
import { svdArrays, type TruncatedSvd } from './engine.js';

export function sqrtClamped(values: Float64Array): Float64Array {
  return Float64Array.from(values, (x) => Math.sqrt(Math.max(x, 0)));
}

/**
 * U as rows×rank row-major and Vᵀ as rank×cols (vector set layout is already Vᵀ). For
 * `transposed` (a holds Bᵀ, the SVD wanted is B's) the two sides swap: B = V·Σ·Uᵀ.
 */
export function pack(u: Float64Array, s: Float64Array, v: Float64Array, m: number, n: number, rank: number, transposed: boolean, into?: Float32Array): TruncatedSvd {
  if (transposed) [u, v, m, n] = [v, u, n, m];
  const out = svdArrays(m, n, rank, into);
  for (let c = 0; c < rank; c++) for (let i = 0; i < m; i++) out.u[i * rank + c] = u[c * m + i];
  out.vt.set(v.subarray(0, rank * n));
  return { u: out.u, s, vt: out.vt };
}
