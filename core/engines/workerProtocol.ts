// Messages between the embedded engine and its worker threads.
export interface SpectrumRequest { id: number; op: 'spectrum'; data: Float32Array; rows: number; cols: number }
export type WorkerRequest = SpectrumRequest;
export type WorkerResponse =
  | { id: number; ok: true; values: Float64Array }
  | { id: number; ok: false; error: string };
