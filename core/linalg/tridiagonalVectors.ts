// Eigenvectors of a symmetric tridiagonal matrix for known eigenvalues, by inverse iteration
// (LAPACK dstein): O(n) per vector and iteration, so a truncated SVD pays for the k vectors
// it keeps, not for all n as QL with accumulated rotations would (O(n³)).
import { mulberry32 } from './mulberry32.js';

/** Inverse-iteration steps per vector: the first already gains ~1/ε on a simple eigenvalue. */
const ITERATIONS = 3;

/**
 * Unit eigenvectors of T (diagonal d, off-diagonal e[i] coupling i and i+1) for `values`,
 * given in descending order, as contiguous vectors of length n. Values closer than
 * 1e-3·‖T‖ form a cluster whose vectors are kept orthogonal explicitly (as dstein does);
 * equal values are separated by 10·ε·‖T‖ so each solve finds a new direction. Written into
 * `out` when given (a GramReduction's vectorSpace), else into a new array.
 */
export function tridiagonalEigenvectors(d: Float64Array, e: Float64Array, values: Float64Array, seed = 0x5eed,
  out: Float64Array = new Float64Array(values.length * d.length)): Float64Array {
  const n = d.length, count = values.length;
  if (n === 0) return out;
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]) + (i < n - 1 ? Math.abs(e[i]) : 0) + (i > 0 ? Math.abs(e[i - 1]) : 0));
  if (norm === 0) norm = 1;
  const pertol = 10 * Number.EPSILON * norm, ortol = 1e-3 * norm;
  const lu = new TridiagonalLu(n);
  const rand = uniformSource(seed);
  let cluster = 0, last = Infinity;
  for (let j = 0; j < count; j++) {
    let lambda = values[j];
    if (j > 0 && last - lambda > ortol) cluster = j;
    if (j > 0 && last - lambda < pertol) lambda = last - pertol;
    last = lambda;
    lu.factor(d, e, lambda);
    const x = out.subarray(j * n, (j + 1) * n);
    for (let i = 0; i < n; i++) x[i] = rand();
    for (let it = 0; it < ITERATIONS; it++) {
      // Right-hand sides of size ~ the perturbation keep the growth of the solve in range.
      scaleToMax(x, pertol);
      lu.solve(x, pertol);
      for (let c = cluster; c < j; c++) {
        const y = out.subarray(c * n, (c + 1) * n);
        let dot = 0;
        for (let i = 0; i < n; i++) dot += x[i] * y[i];
        for (let i = 0; i < n; i++) x[i] -= dot * y[i];
      }
      let s = 0;
      for (let i = 0; i < n; i++) s += x[i] * x[i];
      s = Math.sqrt(s);
      // Only a vector inside the cluster's span (or an overflow) leaves nothing: start afresh.
      if (!(s > 0 && Number.isFinite(s))) { for (let i = 0; i < n; i++) x[i] = rand(); it = -1; continue; }
      for (let i = 0; i < n; i++) x[i] /= s;
    }
  }
  return out;
}

function scaleToMax(x: Float64Array, target: number): void {
  let big = 0;
  for (let i = 0; i < x.length; i++) big = Math.max(big, Math.abs(x[i]));
  if (big > 0) for (let i = 0; i < x.length; i++) x[i] *= target / big;
}

/**
 * LU factorisation with partial pivoting of T − λI (LAPACK dlagtf): U has two
 * super-diagonals, L one multiplier per step; swapped[k] records a row interchange.
 */
class TridiagonalLu {
  private readonly u0: Float64Array;
  private readonly u1: Float64Array;
  private readonly u2: Float64Array;
  private readonly mult: Float64Array;
  private readonly swapped: Uint8Array;

  constructor(private readonly n: number) {
    this.u0 = new Float64Array(n);
    this.u1 = new Float64Array(n);
    this.u2 = new Float64Array(n);
    this.mult = new Float64Array(n);
    this.swapped = new Uint8Array(n);
  }

  factor(d: Float64Array, e: Float64Array, lambda: number): void {
    const { n, u0, u1, u2, mult, swapped } = this;
    for (let i = 0; i < n; i++) { u0[i] = d[i] - lambda; u1[i] = i < n - 1 ? e[i] : 0; u2[i] = 0; }
    for (let k = 0; k < n - 1; k++) {
      const sub = e[k];
      if (Math.abs(u0[k]) >= Math.abs(sub)) {
        swapped[k] = 0;
        mult[k] = u0[k] === 0 ? 0 : sub / u0[k];
        u0[k + 1] -= mult[k] * u1[k];
      } else {
        // Row k+1 becomes the pivot row: (sub, u0[k+1], u1[k+1]) over columns k, k+1, k+2.
        swapped[k] = 1;
        const m = u0[k] / sub;
        const nextDiag = u0[k + 1], nextSuper = u1[k + 1];
        u0[k] = sub;
        u0[k + 1] = u1[k] - m * nextDiag;
        u1[k] = nextDiag;
        u2[k] = nextSuper;
        u1[k + 1] = -m * nextSuper;
        mult[k] = m;
      }
    }
  }

  /** x ← (T − λI)⁻¹·x, pivots smaller than `tiny` replaced by ±tiny (T − λI is singular at an eigenvalue). */
  solve(x: Float64Array, tiny: number): void {
    const { n, u0, u1, u2, mult, swapped } = this;
    for (let k = 0; k < n - 1; k++) {
      if (swapped[k]) { const t = x[k]; x[k] = x[k + 1]; x[k + 1] = t - mult[k] * x[k + 1]; }
      else x[k + 1] -= mult[k] * x[k];
    }
    for (let k = n - 1; k >= 0; k--) {
      let t = x[k];
      if (k + 1 < n) t -= u1[k] * x[k + 1];
      if (k + 2 < n) t -= u2[k] * x[k + 2];
      const p = u0[k];
      x[k] = t / (Math.abs(p) >= tiny ? p : p < 0 ? -tiny : tiny);
    }
  }
}

/** Deterministic uniform samples in (−1, 1): same input, same vectors. */
function uniformSource(seed: number): () => number {
  const next = mulberry32(seed);
  return () => (next() + 0.5) / 2147483648 - 1;
}
