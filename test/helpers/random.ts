// Seeded random numbers and test matrices with chosen spectra.
import { mulberry32 } from '../../core/linalg/mulberry32.js';

export function rng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

export function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-300)) * Math.cos(2 * Math.PI * rand());
}

export function randomMatrix(m: number, n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: m * n }, () => gaussian(r));
}

/** U·diag(s)·V with random Gaussian U (m×k) and V (k×n): rank ≤ k, spectrum shaped by s. */
export function lowRankMatrix(m: number, n: number, s: number[], seed: number): Float32Array {
  const k = s.length;
  const u = randomMatrix(m, k, seed), v = randomMatrix(k, n, seed + 1);
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) {
    const c = u[i * k + p] * s[p];
    for (let j = 0; j < n; j++) out[i * n + j] += c * v[p * n + j];
  }
  return out;
}
