// DeepThin re-layout (Sotoudeh & Baghsorkhi, 2018): approximate a layer's weight W (m×n) by a
// low-rank *auxiliary* matrix X (p×q, p·q ≥ m·n) whose row-major entries, read in order, are
// W's row-major entries. Because q is coprime with n, consecutive rows of W start at shifting
// offsets inside X's rows, so X can be low-rank while W is not — structure plain SVD cannot
// use. Storage is k·(p+q) for a rank-k X. Since reshaping is a fixed permutation of entries,
// the best rank-k X for the m·n real entries is (up to the < q padding entries, set to zero)
// the truncated SVD of W laid out as p×q: Eckart–Young again, on the other layout.
// ONNX graphs rebuild the weight with standard operators (`--method relayout`, strategy.ts and
// onnx/rewrite.ts); no TF.js layers op re-lays a product out, so there relayoutApproximation
// only measures it (bench/quality writes the approximated weights densely).
import type { Engine } from '../engines/engine.js';
import type { JobOptions } from '../types.js';

function gcd(a: number, b: number): number { return b ? gcd(b, a % b) : a; }

/** Auxiliary shape p×q for an m×n weight: q ≈ √(mn) and coprime with n, p = ⌈mn/q⌉. */
export function relayoutShape(rows: number, cols: number): { p: number; q: number } {
  const size = rows * cols;
  let q = Math.max(2, Math.round(Math.sqrt(size)));
  while (gcd(q, cols) !== 1) q++;
  return { p: Math.ceil(size / q), q };
}

/** W's row-major entries laid out row-major as p×q, zero-padded at the end. */
export function toAuxiliary(w: Float32Array, p: number, q: number): Float32Array {
  const x = new Float32Array(p * q);
  x.set(w);
  return x;
}

export interface RelayoutApproximation {
  /** The approximated weight, m×n row-major (the first m·n entries of the rank-k X). */
  weight: Float32Array;
  /** ‖W − W'‖_F / ‖W‖_F */
  relativeError: number;
  /** Stored parameters, k·(p+q). */
  params: number;
}

export async function relayoutApproximation(w: Float32Array, rows: number, cols: number, rank: number, engine: Engine, opts: JobOptions = {}): Promise<RelayoutApproximation> {
  const { p, q } = relayoutShape(rows, cols);
  const { u, s, vt } = await engine.truncatedSvd({ data: toAuxiliary(w, p, q), rows: p, cols: q }, rank, opts);
  const k = s.length;
  const weight = new Float32Array(rows * cols);
  let num = 0, den = 0;
  for (let idx = 0; idx < weight.length; idx++) {
    const i = Math.floor(idx / q), j = idx % q;
    let v = 0;
    for (let t = 0; t < k; t++) v += u[i * k + t] * s[t] * vt[t * q + j];
    weight[idx] = v;
    num += (w[idx] - v) ** 2; den += w[idx] ** 2;
  }
  return { weight, relativeError: den > 0 ? Math.sqrt(num / den) : 0, params: k * (p + q) };
}
