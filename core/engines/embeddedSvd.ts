// Truncated SVD for the embedded engine, f64 throughout.
// Two routes: randomized subspace iteration in JavaScript when the rank is small next to
// min(m,n) (cost ~ iterations·m·n·rank), and an exact route through the eigenvectors of the
// f64 Gram of the smaller side on WebAssembly SIMD kernels otherwise (cost ~ m·n·min(m,n) +
// min(m,n)³ at several times the speed).
// Vector sets are stored as `count` contiguous vectors of length `len` (vector c at
// c·len), so every kernel below streams memory in order.
import { symmetricEigenvalues, tridiagonalEigenvalues } from '../linalg/symmetricEigen.js';
import { tridiagonalEigenvectors } from '../linalg/tridiagonalVectors.js';
import { GramReduction, gramReductionFits, type Helpers } from '../linalg/wasmSpectra.js';
import { checkRank, svdArrays, type TruncatedSvd } from './engine.js';
import { mulberry32 } from '../linalg/mulberry32.js';

/**
 * Chooses the route. The exact one costs about twice a spectrum, on SIMD kernels and helper
 * threads; the randomized one ~2·m·n·(rank + oversampling) per iteration in plain JavaScript,
 * and needs several iterations on flat spectra. Measured on 1024² (random, the randomized
 * route's worst case), exact was already 2× faster at rank 10. So randomized only where it
 * wins by far — rank + oversampling at most 1/64 of min(m,n) — or where the f64 Gram does
 * not fit a WebAssembly memory (sides above ~20 000).
 */
export function truncatedSvd(a: Float32Array, m: number, n: number, rank: number, helpers?: Helpers, transposed = false, into?: Float32Array): TruncatedSvd {
  checkRank(m, n, rank);
  const p = Math.min(m, n);
  const randomized = rank > 0 && (sampleSize(rank, p) * 64 <= p || !gramReductionFits(m, n, rank));
  return randomized ? randomizedTruncatedSvd(a, m, n, rank, transposed, into) : exactTruncatedSvd(a, m, n, rank, helpers, transposed, into);
}

/**
 * Eigenvectors of the f64 Gram of the smaller side give one side; projection gives the other.
 * The Gram and its tridiagonal reduction run as the spectra's WebAssembly kernels (optionally
 * with helper threads); only the `rank` wanted eigenvectors of the tridiagonal are computed
 * (inverse iteration) and carried back through the reflectors, so beyond the spectrum's cost
 * this adds ~2·s·s·rank + m·n·rank multiply-adds.
 */
export function exactTruncatedSvd(a: Float32Array, m: number, n: number, rank: number, helpers?: Helpers, transposed = false, into?: Float32Array): TruncatedSvd {
  checkRank(m, n, rank);
  if (rank === 0) return pack(new Float64Array(0), new Float64Array(0), new Float64Array(0), m, n, 0, transposed, into);
  const r = new GramReduction(a, m, n, helpers, rank);
  try {
    const values = tridiagonalEigenvalues(r.d, r.e).sort().reverse().subarray(0, rank);
    const side = r.eigenvectors(tridiagonalEigenvectors(r.d, r.e, values, undefined, r.vectorSpace(rank)), rank);
    const other = r.otherSide(side, rank, gaussianSource(0x5eed));
    const s = sqrtClamped(values);
    return n <= m ? pack(other, s, side, m, n, rank, transposed, into) : pack(side, s, other, m, n, rank, transposed, into);
  } finally {
    r.close();
  }
}

const MAX_POWER_ITERATIONS = 30;
/**
 * Stop once an iteration adds less captured energy than this share of the residual energy.
 * The gain shrinks geometrically, so what is still missing is of the same order: the
 * residual is then within ~1e-4 of optimal, well inside the 1e-3 the engines promise.
 */
const ENERGY_TOLERANCE = 1e-4;

/**
 * Randomized range finder with power (subspace) iterations, re-orthonormalised at every
 * half step so small singular directions are not swamped. Iterates until the energy the
 * top `rank` directions capture stops growing, which makes the reconstruction error
 * agree with the optimal one far inside 1e-3 even on flat spectra.
 */
export function randomizedTruncatedSvd(a: Float32Array, m: number, n: number, rank: number, transposed = false, into?: Float32Array): TruncatedSvd {
  checkRank(m, n, rank);
  if (rank === 0) return pack(new Float64Array(0), new Float64Array(0), new Float64Array(0), m, n, 0, transposed, into);
  const l = sampleSize(rank, Math.min(m, n));
  const rand = gaussianSource(0x5eed);
  let total = 0;
  for (let i = 0; i < a.length; i++) total += a[i] * a[i];

  const omega = new Float64Array(l * n);
  for (let i = 0; i < omega.length; i++) omega[i] = rand();
  let q = timesVectors(a, m, n, omega, l);
  orthonormalize(q, l, m, rand);
  // Rows of B = QᵀA, i.e. AᵀQ as vectors of length n.
  let b = transposeTimesVectors(a, m, n, q, l);
  let captured = topEnergy(b, l, n, rank);
  for (let it = 0; it < MAX_POWER_ITERATIONS; it++) {
    orthonormalize(b, l, n, rand);
    q = timesVectors(a, m, n, b, l);
    orthonormalize(q, l, m, rand);
    b = transposeTimesVectors(a, m, n, q, l);
    const next = topEnergy(b, l, n, rank);
    const gain = next - captured;
    captured = next;
    if (gain <= ENERGY_TOLERANCE * (total - next) || gain <= 1e-14 * total) break;
  }
  // SVD of the small B through the eigenvectors of B·Bᵀ: B = Ub·Σ·Vᵀ, so U = Q·Ub, V = Bᵀ·Ub/σ.
  const { values, vectors } = symmetricEigen(vectorGram(b, l, n), l);
  const s = sqrtClamped(values.subarray(0, rank));
  const u = combine(q, l, m, vectors, rank);
  const v = combine(b, l, n, vectors, rank);
  orthonormalize(v, rank, n, rand);
  return pack(u, s, v, m, n, rank, transposed, into);
}

/** Rank plus oversampling: extra directions make the range finder converge much faster. */
function sampleSize(rank: number, p: number): number {
  return Math.min(p, rank + Math.max(10, Math.ceil(rank / 4)));
}

function sqrtClamped(values: Float64Array): Float64Array {
  return Float64Array.from(values, (x) => Math.sqrt(Math.max(x, 0)));
}

/** Sum of the `rank` largest eigenvalues of the Gram of the vector set: the energy B keeps at that rank. */
function topEnergy(b: Float64Array, count: number, len: number, rank: number): number {
  const eig = symmetricEigenvalues(vectorGram(b, count, len), count).sort();
  let e = 0;
  for (let i = count - rank; i < count; i++) e += Math.max(eig[i], 0);
  return e;
}

/**
 * U as rows×rank row-major and Vᵀ as rank×cols (vector set layout is already Vᵀ). For
 * `transposed` (a holds Bᵀ, the SVD wanted is B's) the two sides swap: B = V·Σ·Uᵀ.
 */
function pack(u: Float64Array, s: Float64Array, v: Float64Array, m: number, n: number, rank: number, transposed: boolean, into?: Float32Array): TruncatedSvd {
  if (transposed) [u, v, m, n] = [v, u, n, m];
  const out = svdArrays(m, n, rank, into);
  for (let c = 0; c < rank; c++) for (let i = 0; i < m; i++) out.u[i * rank + c] = u[c * m + i];
  out.vt.set(v.subarray(0, rank * n));
  return { u: out.u, s, vt: out.vt };
}

/** A·z_c for each of `count` vectors z_c of length n; returns vectors of length m. */
function timesVectors(a: Float32Array, m: number, n: number, z: Float64Array, count: number): Float64Array {
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
function transposeTimesVectors(a: Float32Array, m: number, n: number, q: Float64Array, count: number): Float64Array {
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
function vectorGram(v: Float64Array, count: number, len: number): Float64Array {
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
function combine(v: Float64Array, count: number, len: number, coeffs: Float64Array, k: number): Float64Array {
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
function orthonormalize(v: Float64Array, count: number, len: number, rand: () => number): void {
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

/** Deterministic standard normal samples (Box–Muller): same input, same factors. */
function gaussianSource(seed: number): () => number {
  const next = mulberry32(seed);
  const uniform = (): number => (next() + 0.5) / 4294967296;
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Eigen-decomposition of a symmetric n×n matrix: Householder tridiagonalisation with
 * accumulated transformations, then implicit QL (the EISPACK tred2/tql2 pair). Returns
 * eigenvalues descending and their eigenvectors as contiguous vectors. The working matrix
 * is kept column-major (V[r][c] at c·n + r) so the QL rotations stream whole vectors.
 */
export function symmetricEigen(g: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const V = Float64Array.from(g); // symmetric: row-major equals column-major
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { values: d, vectors: V };
  const at = (r: number, c: number): number => c * n + r;
  tred2(V, d, e, n, at);
  tql2(V, d, e, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y] - d[x]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = d[src];
    vectors.set(V.subarray(src * n, src * n + n), dst * n);
  });
  return { values, vectors };
}

function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number, at: (r: number, c: number) => number): void {
  for (let j = 0; j < n; j++) d[j] = V[at(n - 1, j)];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[at(i - 1, j)];
        V[at(i, j)] = 0;
        V[at(j, i)] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) { d[k] /= scale; h += d[k] * d[k]; }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[at(j, i)] = f;
        const cj = j * n;
        g = e[j] + V[cj + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[cj + k] * d[k];
          e[k] += V[cj + k] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) { e[j] /= h; f += e[j] * d[j]; }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        const cj = j * n;
        for (let k = j; k <= i - 1; k++) V[cj + k] -= f * e[k] + g * d[k];
        d[j] = V[at(i - 1, j)];
        V[at(i, j)] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[at(n - 1, i)] = V[at(i, i)];
    V[at(i, i)] = 1;
    const h = d[i + 1];
    const ci1 = (i + 1) * n;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[ci1 + k] / h;
      for (let j = 0; j <= i; j++) {
        const cj = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[ci1 + k] * V[cj + k];
        for (let k = 0; k <= i; k++) V[cj + k] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[ci1 + k] = 0;
  }
  for (let j = 0; j < n; j++) { d[j] = V[at(n - 1, j)]; V[at(n - 1, j)] = 0; }
  V[at(n - 1, n - 1)] = 1;
  e[0] = 0;
}

function tql2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = Number.EPSILON;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new Error('eigenvector iteration did not converge');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1, c2 = 1, c3 = 1;
        const el1 = e[l + 1];
        let s = 0, s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          // Rotate eigenvector columns i and i+1 (contiguous in this layout).
          const ci = i * n, ci1 = ci + n;
          for (let k = 0; k < n; k++) {
            h = V[ci1 + k];
            V[ci1 + k] = s * V[ci + k] + c * h;
            V[ci + k] = c * V[ci + k] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}
