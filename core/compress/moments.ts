// Streaming input second moment of a layer, C = XᵀX / N, summed chunk by chunk in f64 (on
// the WebAssembly Gram kernel) so that no collector (tfjs, onnxruntime) ever holds all
// activations of the calibration set.
import { availableParallelism } from 'node:os';
import { WasmGram } from '../linalg/wasmGram.js';
import { CHUNK, type Helpers } from '../linalg/wasmSpectra.js';
import { HelperThreads } from '../linalg/helperThreads.js';
import { bundledWorkerPath } from '../io/bundledWorker.js';
import { checkpoint } from '../types.js';

/**
 * Row-major samples added between two checkpoints: a whole number of the kernel's chunks, so
 * the Gram is summed exactly as in one call (the same chunks, in the same order).
 */
const ROWS_PER_CHECKPOINT = 32 * CHUNK;

export interface InputMoments { dim: number; samples: number; c: Float64Array }

/**
 * Bytes of fetched layer inputs (and the patches cut from them) one batch of calibration inputs
 * may hold, for the collectors that run a whole graph per batch (ONNX, TF.js graph): every
 * factorisable layer's input is an output of the same run, so a batch holds a copy of most of
 * the network's activations. PaddleOCR's recogniser (48×320 text lines) fetches about 6 MB of
 * them per input, and 256 inputs at once passed 3 GB; Basic Pitch (a TF.js graph) cuts 170 MB
 * of 3×39×8 patches from each 2 s window, and 300 windows at once passed 3 GB.
 */
export const MOMENT_BATCH_BYTES = 192 * 2 ** 20;

let pool: HelperThreads | undefined;
/**
 * The other cores' share of the Grams: while a batch's sums run, the collector (onnxruntime,
 * tfjs) that produced it waits, so every core is free for them.
 */
function gramHelpers(): Helpers | undefined {
  const extra = availableParallelism() - 1;
  if (extra < 1) return undefined;
  pool ??= new HelperThreads(bundledWorkerPath('worker.js'));
  return pool.take(extra);
}

export class MomentAccumulator {
  private readonly gram: WasmGram;
  private samples = 0;

  constructor(readonly dim: number) {
    this.gram = new WasmGram(dim, gramHelpers());
  }

  /**
   * Adds a batch of samples: `x` holds rows of `dim` features, row-major (leading dimensions
   * of any rank flattened), or feature-major (`dim` rows of samples, as Gemm with transA=1
   * receives its input).
   */
  addSamples(x: Float32Array, featureMajor = false): void {
    this.samples += this.gram.add(x, featureMajor);
  }

  /**
   * addSamples in pieces with a checkpoint between them, so a batch of many samples (a Conv's
   * input patches: positions × images) lets a cancellation through; the same sums.
   */
  async addSamplesAsync(x: Float32Array, featureMajor = false, signal?: AbortSignal): Promise<void> {
    const count = x.length / this.dim;
    if (count <= ROWS_PER_CHECKPOINT) { this.addSamples(x, featureMajor); return; }
    for (let at = 0; at < count; at += ROWS_PER_CHECKPOINT) {
      await checkpoint(signal);
      this.samples += this.gram.add(x, featureMajor, at, Math.min(count, at + ROWS_PER_CHECKPOINT));
    }
  }

  moments(): InputMoments {
    if (this.samples === 0) throw new Error('no calibration samples');
    const c = this.gram.matrix();
    for (let i = 0; i < c.length; i++) c[i] /= this.samples;
    return { dim: this.dim, samples: this.samples, c };
  }
}
