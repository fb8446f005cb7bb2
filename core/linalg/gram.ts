// f64 Gram matrix of the smaller side of a row-major m×n f32 matrix. The smaller side keeps
// the eigenproblem at min(m,n)²; f64 accumulation keeps squared singular values exact
// enough that σ comes back within ~1e-8·σ_max.

const BLOCK = 64;

/** Returns G = AᵀA (n×n) when n ≤ m, else AAᵀ (m×m), as a full symmetric row-major f64 matrix. */
export function smallGram(a: Float32Array | Float64Array, m: number, n: number): { g: Float64Array; size: number } {
  const transpose = n <= m;
  const size = transpose ? n : m;
  const len = transpose ? m : n;
  // Vectors whose pairwise dot products form G, each contiguous.
  const vecs = new Float64Array(size * len);
  if (transpose) {
    for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) vecs[c * len + r] = a[r * n + c];
  } else {
    for (let i = 0; i < a.length; i++) vecs[i] = a[i];
  }
  const g = new Float64Array(size * size);
  for (let ib = 0; ib < size; ib += BLOCK) {
    const iEnd = Math.min(ib + BLOCK, size);
    for (let jb = 0; jb <= ib; jb += BLOCK) {
      const jEnd = Math.min(jb + BLOCK, size);
      for (let kb = 0; kb < len; kb += 256) {
        const kEnd = Math.min(kb + 256, len);
        for (let i = ib; i < iEnd; i++) {
          const oi = i * len;
          const jLast = jb === ib ? i + 1 : jEnd;
          for (let j = jb; j < jLast; j++) {
            const oj = j * len;
            let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            let k = kb;
            for (; k + 3 < kEnd; k += 4) {
              s0 += vecs[oi + k] * vecs[oj + k];
              s1 += vecs[oi + k + 1] * vecs[oj + k + 1];
              s2 += vecs[oi + k + 2] * vecs[oj + k + 2];
              s3 += vecs[oi + k + 3] * vecs[oj + k + 3];
            }
            for (; k < kEnd; k++) s0 += vecs[oi + k] * vecs[oj + k];
            g[i * size + j] += s0 + s1 + s2 + s3;
          }
        }
      }
    }
  }
  for (let i = 0; i < size; i++) for (let j = 0; j < i; j++) g[j * size + i] = g[i * size + j];
  return { g, size };
}
