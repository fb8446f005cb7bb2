// The exact route of the embedded engine's truncated SVD (embeddedSvd.ts picks the route):
// eigenvectors of the f64 Gram of the smaller side, on the spectra's WebAssembly SIMD kernels.
import { tridiagonalEigenvectors } from '../linalg/tridiagonalVectors.js';
import { GramReduction, type Helpers } from '../linalg/wasmSpectra.js';
import type { ReductionPlace } from '../linalg/reductionFile.js';
import { gaussianSource } from '../linalg/gaussianSource.js';
import { checkRank, type TruncatedSvd } from './engine.js';
import { pack, sqrtClamped } from './svdPack.js';

/**
 * Eigenvectors of the f64 Gram of the smaller side give one side; projection gives the other.
 * The Gram and its tridiagonal reduction run as the spectra's WebAssembly kernels (optionally
 * with helper threads); only the `rank` wanted eigenvectors of the tridiagonal are computed
 * (inverse iteration) and carried back through the reflectors, so beyond the spectrum's cost
 * this adds ~2·s·s·rank + m·n·rank multiply-adds — or only that, when a spectrum of the same
 * matrix kept its reduction at `from`.
 */
export function exactTruncatedSvd(a: Float32Array, m: number, n: number, rank: number, helpers?: Helpers, transposed = false, into?: Float32Array, from?: ReductionPlace): TruncatedSvd {
  checkRank(m, n, rank);
  if (rank === 0) return pack(new Float64Array(0), new Float64Array(0), new Float64Array(0), m, n, 0, transposed, into);
  const r = new GramReduction(a, m, n, helpers, rank, from);
  try {
    const values = r.eigenvalues().subarray(0, rank);
    const side = r.eigenvectors(tridiagonalEigenvectors(r.d, r.e, values, undefined, r.vectorSpace(rank)), rank);
    const other = r.otherSide(side, rank, gaussianSource(0x5eed));
    const s = sqrtClamped(values);
    return n <= m ? pack(other, s, side, m, n, rank, transposed, into) : pack(side, s, other, m, n, rank, transposed, into);
  } finally {
    r.close();
  }
}
