// Seeded permutations for the example training scripts, so a retrain reproduces the
// committed model and its data split exactly.
import { mulberry32 } from '../core/linalg/mulberry32.js';

/** Deterministic Fisher–Yates permutation of 0..n-1. */
export function shuffled(n: number, seed: number): Int32Array {
  const next = mulberry32(seed);
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(next() / 4294967296 * (i + 1)); [p[i], p[j]] = [p[j], p[i]]; }
  return p;
}
