// Where the maths runs. Every engine answers the same calls; results agree across engines
// to 1e-4·σ_max (spectra) and 1e-3 relative (truncated-SVD reconstruction errors).
import type { JobOptions, MatrixInFile } from '../types.js';
import type { ReductionPlace } from '../linalg/reductionFile.js';

export type EngineName = 'embedded' | 'torch' | 'tfjs-node';

export interface MatrixInput {
  /** Row-major rows×cols values. */
  data: Float32Array;
  rows: number;
  cols: number;
  /**
   * `data` stores the transpose of the matrix whose truncated SVD is wanted (rows×cols here
   * are the stored layout): its U and V swap roles, so the engine answers for that matrix
   * without a transposing copy. Spectra are the same either way.
   */
  transposed?: boolean;
}

/** W ≈ U·diag(s)·Vᵀ with orthonormal columns of U and rows of Vᵀ. */
export interface TruncatedSvd {
  /** rows×rank, row-major. */
  u: Float32Array;
  /** rank values, descending. */
  s: Float64Array;
  /** rank×cols, row-major. */
  vt: Float32Array;
}

/**
 * Work a spectrum shares with a later truncated SVD of the same matrix (the f64 Gram and its
 * reduction, in the embedded engine) may be left in a file for it: `keep` says where, the
 * SVD's `reuse` names the same place. Engines that keep nothing ignore both.
 */
export interface SpectrumOptions extends JobOptions {
  keep?: ReductionPlace;
}

export interface SvdOptions extends JobOptions {
  /** Where a spectrum of this same matrix may have kept its work (SpectrumOptions.keep); redone when it holds none. */
  reuse?: ReductionPlace;
  /**
   * Shared memory of at least rank·(rows + cols) floats that receives the result, U first,
   * then Vᵀ (the returned u and vt are views of it). A caller that reuses one buffer layer
   * after layer leaves no per-layer result arrays behind for a collector to find late. It may
   * be the input's own memory: engines have read all of the input before they write there.
   */
  into?: Float32Array;
}

/** The result arrays for a rank-`rank` SVD of a rows×cols matrix: views of `into` when given. */
export function svdArrays(rows: number, cols: number, rank: number, into?: Float32Array): { u: Float32Array; vt: Float32Array } {
  if (!into) return { u: new Float32Array(rows * rank), vt: new Float32Array(rank * cols) };
  if (into.length < rank * (rows + cols)) throw new RangeError(`result buffer of ${into.length} floats is too small for a rank-${rank} SVD of ${rows}×${cols}`);
  return { u: into.subarray(0, rows * rank), vt: into.subarray(rows * rank, rank * (rows + cols)) };
}

/** Where a layer's balanced factors go (A = U_k·√Σ_k, rows×k, then B = √Σ_k·V_kᵀ, k×cols, f32 row-major): offsets in the file `path`. */
export interface FactorPlace { path: string; a: number; b: number }

/**
 * The calls of an engine that reads matrices from the model's files and writes factors to
 * files itself (the torch worker): their values never pass through this process, and never
 * through a pipe. Results agree with the in-memory calls' to the same contracts.
 */
export interface FileCalls {
  /** Requests worth having in flight at once: each costs this process nothing but a promise. */
  readonly lanes: number;
  spectrum(m: MatrixInFile, opts?: SpectrumOptions): Promise<Float64Array>;
  /** Writes the rank-`rank` factors of the layer's matrix at `into`; returns the kept singular values and the matrix's energy Σw². */
  factors(m: MatrixInFile, rank: number, into: FactorPlace, opts?: SvdOptions): Promise<{ s: Float64Array; energy: number }>;
}

export interface Engine {
  readonly name: EngineName;
  /** Present where the engine reads and writes files itself. */
  readonly files?: FileCalls;
  /** Human description for status bars and logs, e.g. "CUDA · NVIDIA H100". */
  readonly description: string;
  /** All min(rows, cols) singular values, descending. */
  spectrum(m: MatrixInput, opts?: SpectrumOptions): Promise<Float64Array>;
  /** The best rank-`rank` approximation (Eckart–Young); 0 ≤ rank ≤ min(rows, cols). */
  truncatedSvd(m: MatrixInput, rank: number, opts?: SvdOptions): Promise<TruncatedSvd>;
  close(): Promise<void>;
}

/** Every engine refuses the same bad ranks with the same message, before doing any work. */
export function checkRank(rows: number, cols: number, rank: number): void {
  if (!Number.isInteger(rank) || rank < 0 || rank > Math.min(rows, cols)) {
    throw new RangeError(`rank ${rank} is outside [0, ${Math.min(rows, cols)}] for a ${rows}×${cols} matrix`);
  }
}
