// Messages between the embedded engine and its worker threads.
export interface SpectrumRequest {
  id: number; op: 'spectrum'; data: Float32Array; rows: number; cols: number;
  /** Threads this job may keep busy, the worker's own included (default 1): cores no other job holds. */
  threads?: number;
}
export type WorkerRequest = SpectrumRequest;
export type WorkerResponse =
  | { id: number; ok: true; values: Float64Array }
  | { id: number; ok: false; error: string };
