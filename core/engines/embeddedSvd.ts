// Truncated SVD for the embedded engine, f64 throughout.
// Two routes: randomized subspace iteration in JavaScript when the rank is small next to
// min(m,n) (cost ~ iterations·m·n·rank), and an exact route through the eigenvectors of the
// f64 Gram of the smaller side on WebAssembly SIMD kernels otherwise (cost ~ m·n·min(m,n) +
// min(m,n)³ at several times the speed).
// The routes are exactSvd.ts and randomizedSvd.ts; this file picks one.
import { gramReductionFits, type Helpers } from '../linalg/wasmSpectra.js';
import type { ReductionPlace } from '../linalg/reductionFile.js';
import { checkRank, type TruncatedSvd } from './engine.js';
import { exactTruncatedSvd } from './exactSvd.js';
import { randomizedTruncatedSvd, sampleSize } from './randomizedSvd.js';

/**
 * Chooses the route. The exact one costs about twice a spectrum, on SIMD kernels and helper
 * threads; the randomized one ~2·m·n·(rank + oversampling) per iteration in plain JavaScript,
 * and needs several iterations on flat spectra. Measured on 1024² (random, the randomized
 * route's worst case), exact was already 2× faster at rank 10. So randomized only where it
 * wins by far — rank + oversampling at most 1/64 of min(m,n) — or where the f64 Gram does
 * not fit a WebAssembly memory (sides above ~20 000).
 */
export function truncatedSvd(a: Float32Array, m: number, n: number, rank: number, helpers?: Helpers, transposed = false, into?: Float32Array, from?: ReductionPlace): TruncatedSvd {
  checkRank(m, n, rank);
  const p = Math.min(m, n);
  const randomized = rank > 0 && (sampleSize(rank, p) * 64 <= p || !gramReductionFits(m, n, rank));
  return randomized ? randomizedTruncatedSvd(a, m, n, rank, transposed, into) : exactTruncatedSvd(a, m, n, rank, helpers, transposed, into, from);
}
