import { smallGram } from './gram.js';
import { symmetricEigenvalues } from './symmetricEigen.js';

/**
 * All min(m,n) singular values of a row-major m×n matrix, descending.
 * Method: f64 Gram of the smaller side, Householder tridiagonalisation, implicit QL.
 * Chosen over Golub–Kahan bidiagonalisation because the Gram step is a plain dot-product
 * kernel (fast, parallelisable) and in f64 it loses nothing the 1e-4·σ_max contract needs.
 */
export function singularValues(a: Float32Array | Float64Array, m: number, n: number): Float64Array {
  if (m === 0 || n === 0) return new Float64Array(0);
  const { g, size } = smallGram(a, m, n);
  const eig = symmetricEigenvalues(g, size);
  const s = new Float64Array(size);
  for (let i = 0; i < size; i++) s[i] = Math.sqrt(Math.max(eig[i], 0));
  return s.sort().reverse();
}
