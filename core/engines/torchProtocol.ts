// Frames between the torch engine and python/torch_worker.py: one JSON header line, then
// exactly `header.bytes` raw little-endian bytes. Numbers never travel as JSON arrays.
import type { ReductionPlace } from '../linalg/reductionFile.js';
import type { MatrixInFile } from '../types.js';
import type { FactorPlace } from './engine.js';

// A request names its matrix by its bytes in the frame, or by where it lies in a model file
// (`file`, with `bytes: 0`). `keep` / `reuse` name a place in a scratch file where a spectrum
// leaves its eigenvectors for the same matrix's SVD or factors (one decomposition per layer).
export interface SpectrumRequest { id: number; op: 'spectrum'; rows: number; cols: number; bytes: number; file?: MatrixInFile; keep?: ReductionPlace }
export interface SvdRequest { id: number; op: 'svd'; rows: number; cols: number; rank: number; bytes: number; reuse?: ReductionPlace }
/** Writes the balanced factors of the file's matrix at `into` (engine.ts, FactorPlace); the result is `s`, and `value` the energy. */
export interface FactorsRequest { id: number; op: 'factors'; rows: number; cols: number; rank: number; bytes: 0; file: MatrixInFile; reuse?: ReductionPlace; into: FactorPlace }
export type WorkerRequest = SpectrumRequest | SvdRequest | FactorsRequest;
/** A request before the engine numbers it. */
export type Unnumbered = Omit<SpectrumRequest, 'id'> | Omit<SvdRequest, 'id'> | Omit<FactorsRequest, 'id'>;
/** What a `factors` result carries besides `s`. */
export interface FactorsValue { energy: number }

/** One named array inside a result payload: [name, dtype, byte length], in payload order. */
export type Part = [name: string, dtype: 'f32' | 'f64', bytes: number];

export type WorkerMessage =
  /** `devices`: how many devices of its kind the worker sees (CUDA devices; 1 otherwise). */
  | { type: 'hello'; device: string; gpu: boolean; torch: string; devices?: number; bytes?: 0 }
  | { type: 'fatal'; error: string; bytes?: 0 }
  | { id: number; type: 'result'; parts: Part[]; bytes: number; value?: unknown }
  | { id: number; type: 'error'; error: string; bytes?: 0; file?: string };

export interface Frame { header: WorkerMessage; payload: Buffer }
export interface ResultFrame { header: Extract<WorkerMessage, { type: 'result' }>; payload: Buffer }

/** The header line of a request (this engine's, or the model runner's: runners/torchRunnerProtocol.ts); its bytes follow it as they are. */
export function encodeHeader(req: { id: number; bytes: number }): Buffer {
  return Buffer.from(`${JSON.stringify(req)}\n`, 'utf8');
}

/** Little-endian bytes of a typed array without copying (every platform Node runs on is little-endian). */
export function bytesOf(a: Float32Array | Float64Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Splits a result payload into its named arrays, copied so they own aligned memory. */
export function parts(frame: ResultFrame): Map<string, Float32Array | Float64Array> {
  const out = new Map<string, Float32Array | Float64Array>();
  let offset = 0;
  for (const [name, dtype, bytes] of frame.header.parts) {
    const slice = frame.payload.subarray(offset, offset + bytes);
    const Ctor = dtype === 'f64' ? Float64Array : Float32Array;
    const arr = new Ctor(bytes / Ctor.BYTES_PER_ELEMENT);
    new Uint8Array(arr.buffer).set(slice);
    out.set(name, arr);
    offset += bytes;
  }
  return out;
}

/** Incremental parser of the worker's stdout: feed chunks, get whole frames. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: WorkerMessage | undefined;

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (!this.header) {
        const line = this.takeLine();
        if (line === undefined) break;
        this.header = JSON.parse(line) as WorkerMessage;
      }
      const need = this.header.bytes ?? 0;
      if (this.buffered < need) break;
      frames.push({ header: this.header, payload: this.take(need) });
      this.header = undefined;
    }
    return frames;
  }

  private takeLine(): string | undefined {
    let seen = 0;
    for (const c of this.chunks) {
      const nl = c.indexOf(10);
      if (nl >= 0) return this.take(seen + nl + 1).subarray(0, -1).toString('utf8');
      seen += c.length;
    }
    return undefined;
  }

  /** Removes and returns the first n buffered bytes, concatenating chunks once. */
  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.buffered -= n;
    return all.subarray(0, n);
  }
}
