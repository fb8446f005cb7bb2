// Kernels on sets of f64 vectors, as the randomized truncated SVD (engines/randomizedSvd.ts)
// uses them: products with an f32 row-major matrix, Gram, combination, orthonormalisation.
// Vector sets are stored as `count` contiguous vectors of length `len` (vector c at
// c·len), so every kernel below streams memory in order.

/** A·z_c for each of `count` vectors z_c of length n; returns vectors of length m. */
export function timesVectors(a: Float32Array, m: number, n: number, z: Float64Array, count: number): Float64Array {
  const out = new Float64Array(count * m);
  let i = 0;
  // Four rows at a time read each z_c once per four dot products.
  for (; i + 3 < m; i += 4) {
    const r0 = i * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
    for (let c = 0; c < count; c++) {
      const zc = c * n;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let j = 0; j < n; j++) {
        const x = z[zc + j];
        s0 += a[r0 + j] * x; s1 += a[r1 + j] * x; s2 += a[r2 + j] * x; s3 += a[r3 + j] * x;
      }
      const o = c * m + i;
      out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3;
    }
  }
  for (; i < m; i++) {
    const r = i * n;
    for (let c = 0; c < count; c++) {
      const zc = c * n;
      let s = 0;
      for (let j = 0; j < n; j++) s += a[r + j] * z[zc + j];
      out[c * m + i] = s;
    }
  }
  return out;
}

/** Aᵀ·q_c for each of `count` vectors q_c of length m; returns vectors of length n. */
export function transposeTimesVectors(a: Float32Array, m: number, n: number, q: Float64Array, count: number): Float64Array {
  const out = new Float64Array(count * n);
  let i = 0;
  for (; i + 3 < m; i += 4) {
    const r0 = i * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
    for (let c = 0; c < count; c++) {
      const qc = c * m + i;
      const q0 = q[qc], q1 = q[qc + 1], q2 = q[qc + 2], q3 = q[qc + 3];
      const o = c * n;
      for (let j = 0; j < n; j++) out[o + j] += q0 * a[r0 + j] + q1 * a[r1 + j] + q2 * a[r2 + j] + q3 * a[r3 + j];
    }
  }
  for (; i < m; i++) {
    const r = i * n;
    for (let c = 0; c < count; c++) {
      const qi = q[c * m + i];
      const o = c * n;
      for (let j = 0; j < n; j++) out[o + j] += qi * a[r + j];
    }
  }
  return out;
}

/** Gram of a vector set: G[c][d] = v_c·v_d. */
export function vectorGram(v: Float64Array, count: number, len: number): Float64Array {
  const g = new Float64Array(count * count);
  for (let c = 0; c < count; c++) {
    for (let d = 0; d <= c; d++) {
      let s = 0;
      for (let i = 0, oc = c * len, od = d * len; i < len; i++) s += v[oc + i] * v[od + i];
      g[c * count + d] = s;
      g[d * count + c] = s;
    }
  }
  return g;
}

/** out_c = Σ_d coeffs_c[d]·v_d for the first `k` coefficient vectors (each of length `count`). */
export function combine(v: Float64Array, count: number, len: number, coeffs: Float64Array, k: number): Float64Array {
  const out = new Float64Array(k * len);
  for (let c = 0; c < k; c++) {
    const o = c * len;
    for (let d = 0; d < count; d++) {
      const w = coeffs[c * count + d];
      const od = d * len;
      for (let i = 0; i < len; i++) out[o + i] += w * v[od + i];
    }
  }
  return out;
}

/**
 * Modified Gram–Schmidt, applied twice ("twice is enough" for orthogonality to rounding).
 * A vector that is numerically inside the span of the previous ones (a zero singular value,
 * a rank-deficient sample) is replaced by a random one: any orthonormal completion is valid there.
 */
export function orthonormalize(v: Float64Array, count: number, len: number, rand: () => number): void {
  for (let c = 0; c < count; c++) {
    const o = c * len;
    for (let attempt = 0; ; attempt++) {
      const before = norm(v, o, len);
      for (let pass = 0; pass < 2; pass++) {
        for (let d = 0; d < c; d++) {
          const od = d * len;
          let dot = 0;
          for (let i = 0; i < len; i++) dot += v[o + i] * v[od + i];
          for (let i = 0; i < len; i++) v[o + i] -= dot * v[od + i];
        }
      }
      const after = norm(v, o, len);
      if (after > 1e-12 * before && after > 0) {
        for (let i = 0; i < len; i++) v[o + i] /= after;
        break;
      }
      if (attempt > 8) throw new Error('could not complete an orthonormal basis');
      for (let i = 0; i < len; i++) v[o + i] = rand();
    }
  }
}

function norm(v: Float64Array, o: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += v[o + i] * v[o + i];
  return Math.sqrt(s);
}
