// Eigenvalues of a real symmetric matrix: Householder tridiagonalisation followed by the
// implicit QL algorithm with Wilkinson shifts. Values only, f64 throughout: this is what
// makes the Gram-matrix route to singular values accurate to ~1e-8·σ_max.

/** Reduces the symmetric n×n row-major matrix `a` (overwritten) to tridiagonal d (diag), e (sub-diag). */
export function tridiagonalize(a: Float64Array, n: number): { d: Float64Array; e: Float64Array } {
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // Householder vector for column k below the diagonal (row k of the symmetric matrix is contiguous).
    const rowK = k * n;
    let alpha = 0;
    for (let i = k + 1; i < n; i++) alpha += a[rowK + i] * a[rowK + i];
    alpha = Math.sqrt(alpha);
    d[k] = a[rowK + k];
    if (alpha === 0) { e[k] = 0; continue; }
    const x0 = a[rowK + k + 1];
    const sign = x0 >= 0 ? 1 : -1;
    e[k] = -sign * alpha;
    for (let i = k + 1; i < n; i++) v[i] = a[rowK + i];
    v[k + 1] += sign * alpha;
    let vnorm2 = 0;
    for (let i = k + 1; i < n; i++) vnorm2 += v[i] * v[i];
    const beta = 2 / vnorm2;
    // p = beta·A·v on the trailing block
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      let s0 = 0, s1 = 0;
      let j = k + 1;
      for (; j + 1 < n; j += 2) { s0 += a[row + j] * v[j]; s1 += a[row + j + 1] * v[j + 1]; }
      if (j < n) s0 += a[row + j] * v[j];
      p[i] = beta * (s0 + s1);
    }
    // w = p − (beta/2)(pᵀv) v ; A ← A − v wᵀ − w vᵀ
    let pv = 0;
    for (let i = k + 1; i < n; i++) pv += p[i] * v[i];
    const kk = (beta / 2) * pv;
    for (let i = k + 1; i < n; i++) p[i] -= kk * v[i];
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      const vi = v[i], wi = p[i];
      for (let j = k + 1; j <= i; j++) a[row + j] -= vi * p[j] + wi * v[j];
    }
    // Keep the upper triangle in step so rows stay valid for the next column.
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      for (let j = k + 1; j < i; j++) a[j * n + i] = a[row + j];
    }
  }
  if (n >= 2) { d[n - 2] = a[(n - 2) * n + n - 2]; e[n - 2] = a[(n - 2) * n + n - 1]; }
  if (n >= 1) d[n - 1] = a[n * n - 1];
  return { d, e };
}

/** √(x²+y²); Math.hypot's general path costs more than the rest of a QL rotation. */
function hypot(x: number, y: number): number {
  const h = Math.sqrt(x * x + y * y);
  // Squares that overflow or lose everything to underflow need the scaled version.
  return h < 1e150 && (h > 1e-150 || h === 0) ? h : Math.hypot(x, y);
}

/** Eigenvalues of the symmetric tridiagonal (d, e) by implicit QL; returns them unsorted. */
export function tridiagonalEigenvalues(dIn: Float64Array, eIn: Float64Array): Float64Array {
  const n = dIn.length;
  const d = Float64Array.from(dIn);
  const e = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) e[i] = eIn[i];
  // Off-diagonals below ε·‖T‖ are zero for our purposes: dropping one moves eigenvalues by
  // no more than the rounding the f64 Gram already carries (σ by ≤ √ε·σ_max ≈ 1.5e-8·σ_max),
  // and it lets clusters of near-zero eigenvalues (low-rank layers) deflate; a tighter floor
  // leaves the relative test chasing rounding noise there until the iteration limit.
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]) + Math.abs(e[i]) + (i > 0 ? Math.abs(e[i - 1]) : 0));
  const floor = Number.EPSILON * norm;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd + floor) break;
      }
      if (m === l) break;
      if (++iter > 200) throw new Error('eigenvalue iteration did not converge');
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
      let s = 1, c = 1, p = 0;
      let i = m - 1;
      for (; i >= l; i--) {
        const f = s * e[i];
        const b = c * e[i];
        r = hypot(f, g);
        e[i + 1] = r;
        if (r === 0) { d[i + 1] -= p; e[m] = 0; break; }
        s = f / r; c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (r === 0 && i >= l) continue;
      d[l] -= p; e[l] = g; e[m] = 0;
    }
  }
  return d;
}

export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  const { d, e } = tridiagonalize(a, n);
  return tridiagonalEigenvalues(d, e);
}
