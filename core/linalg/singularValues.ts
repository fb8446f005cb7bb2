import { GramReduction, type Helpers } from './wasmSpectra.js';
import type { ReductionPlace } from './reductionFile.js';

/**
 * All min(m,n) singular values of a row-major m×n f32 matrix, descending.
 *
 * Method: f64 Gram matrix of the smaller side, blocked Householder tridiagonalisation
 * (LAPACK dsytrd-style), implicit QL on the tridiagonal. Both O(n³) steps run as
 * WebAssembly SIMD kernels (wasm/spectra.c), optionally split across helper threads that
 * share the module's memory.
 *
 * Why this and not Golub–Kahan bidiagonalisation (what LAPACK's gesdd does): the Gram step
 * is a pure GEMM-like kernel, and the symmetric reduction that follows does half the flops
 * of a bidiagonalisation and reads only a triangle per step, so on 2-wide SIMD without FMA
 * it is the faster route. Accuracy: the Gram of f32 data is formed in f64; squaring costs
 * relative precision only on values far below σ_max, and the contract is absolute
 * (1e-4·σ_max): an eigenvalue error of ~n·ε·σ_max² moves σ by at most √(n·ε)·σ_max ≈ 1e-6·σ_max
 * at n = 4096, even for σ ≈ 0.
 * `keep`: where to leave the reduction for a truncated SVD of the same matrix (reductionFile.ts).
 */
export function singularValues(a: Float32Array, m: number, n: number, helpers?: Helpers, keep?: ReductionPlace): Float64Array {
  if (m === 0 || n === 0) return new Float64Array(0);
  const r = new GramReduction(a, m, n, helpers);
  r.close();
  if (keep) r.keep(keep);
  const eig = r.eigenvalues();
  const s = new Float64Array(eig.length);
  for (let i = 0; i < eig.length; i++) s[i] = Math.sqrt(Math.max(eig[i], 0));
  return s;
}
