// The randomized route of the embedded engine's truncated SVD (embeddedSvd.ts picks the route):
// subspace iteration in JavaScript, f64 throughout, on the vector-set kernels of vectorSets.ts.
import { symmetricEigenvalues } from '../linalg/symmetricEigen.js';
import { symmetricEigen } from '../linalg/symmetricEigenvectors.js';
import { combine, orthonormalize, timesVectors, transposeTimesVectors, vectorGram } from '../linalg/vectorSets.js';
import { gaussianSource } from '../linalg/gaussianSource.js';
import { checkRank, type TruncatedSvd } from './engine.js';
import { pack, sqrtClamped } from './svdPack.js';

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
export function sampleSize(rank: number, p: number): number {
  return Math.min(p, rank + Math.max(10, Math.ceil(rank / 4)));
}

/** Sum of the `rank` largest eigenvalues of the Gram of the vector set: the energy B keeps at that rank. */
function topEnergy(b: Float64Array, count: number, len: number, rank: number): number {
  const eig = symmetricEigenvalues(vectorGram(b, count, len), count).sort();
  let e = 0;
  for (let i = count - rank; i < count; i++) e += Math.max(eig[i], 0);
  return e;
}
