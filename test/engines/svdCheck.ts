// Shared checks for truncated-SVD results: orthonormality and reconstruction error.
import assert from 'node:assert/strict';
import type { TruncatedSvd } from '../../core/engines/engine.js';

/** ‖W − U·diag(s)·Vᵀ‖_F / ‖W‖_F in f64. */
export function reconstructionError(w: Float32Array, m: number, n: number, f: TruncatedSvd): number {
  const k = f.s.length;
  let num = 0, den = 0;
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let c = 0; c < k; c++) {
      const x = f.u[i * k + c] * f.s[c];
      for (let j = 0; j < n; j++) row[j] += x * f.vt[c * n + j];
    }
    for (let j = 0; j < n; j++) {
      const a = w[i * n + j];
      num += (a - row[j]) ** 2;
      den += a * a;
    }
  }
  return Math.sqrt(num / den);
}

/** Optimal rank-k relative error from a full spectrum (Eckart–Young). */
export function optimalError(sigma: Float64Array, k: number): number {
  let tail = 0, total = 0;
  sigma.forEach((s, i) => { total += s * s; if (i >= k) tail += s * s; });
  return Math.sqrt(tail / total);
}

/** Columns of U (rows×k) and rows of Vᵀ (k×cols) are orthonormal to `tol`. */
export function assertOrthonormal(f: TruncatedSvd, m: number, n: number, tol = 1e-5): void {
  const k = f.s.length;
  for (let c = 0; c < k; c++) {
    for (let d = 0; d <= c; d++) {
      let uu = 0, vv = 0;
      for (let i = 0; i < m; i++) uu += f.u[i * k + c] * f.u[i * k + d];
      for (let j = 0; j < n; j++) vv += f.vt[c * n + j] * f.vt[d * n + j];
      const want = c === d ? 1 : 0;
      assert.ok(Math.abs(uu - want) <= tol, `UᵀU[${c},${d}] = ${uu}`);
      assert.ok(Math.abs(vv - want) <= tol, `VᵀV[${c},${d}] = ${vv}`);
    }
  }
}

export function assertDescending(s: Float64Array): void {
  for (let i = 1; i < s.length; i++) assert.ok(s[i] <= s[i - 1], `s[${i}] = ${s[i]} > s[${i - 1}]`);
}
