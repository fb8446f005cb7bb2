// Messages between the embedded engine and its worker threads.
import type { TruncatedSvd } from './engine.js';
import type { ReductionPlace } from '../linalg/reductionFile.js';

/** workerData of a pool worker. */
export interface WorkerStart {
  /** Helper threads to start right away, before the first job asks for them. */
  warmHelpers?: number;
}

interface MatrixRequest {
  id: number; data: Float32Array; rows: number; cols: number;
  /** Threads this job may keep busy, the worker's own included (default 1): cores no other job holds. */
  threads?: number;
}
export interface SpectrumRequest extends MatrixRequest {
  op: 'spectrum';
  /** Where to leave the reduction for a truncated SVD of the same matrix (SpectrumOptions.keep). */
  keep?: ReductionPlace;
}
export interface SvdRequest extends MatrixRequest {
  op: 'svd'; rank: number; transposed?: boolean;
  /** Shared memory for U and Vᵀ (SvdOptions.into); the response's u and vt are views of it. */
  into?: Float32Array;
  /** Where a spectrum of the same matrix may have left its reduction (SvdOptions.reuse). */
  reuse?: ReductionPlace;
}
export type WorkerRequest = SpectrumRequest | SvdRequest;
export type WorkerResult = Float64Array | TruncatedSvd;
export type WorkerResponse =
  | { id: number; ok: true; values: Float64Array }
  | ({ id: number; ok: true; values?: undefined } & TruncatedSvd)
  | { id: number; ok: false; error: string };
