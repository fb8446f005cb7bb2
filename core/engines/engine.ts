// Where the maths runs. Every engine answers the same calls; results agree across engines
// to 1e-4·σ_max (spectra).
import type { JobOptions } from '../types.js';

export type EngineName = 'embedded' | 'torch' | 'tfjs-node';

export interface MatrixInput {
  /** Row-major rows×cols values. */
  data: Float32Array;
  rows: number;
  cols: number;
}

export interface Engine {
  readonly name: EngineName;
  /** Human description for status bars and logs, e.g. "WASM/JS · 2 workers". */
  readonly description: string;
  /** All min(rows, cols) singular values, descending. */
  spectrum(m: MatrixInput, opts?: JobOptions): Promise<Float64Array>;
  close(): Promise<void>;
}
