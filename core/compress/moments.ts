// Streaming input second moment of a layer, C = XᵀX / N, summed batch by batch in f64 so
// that no collector (tfjs, onnxruntime) ever holds all activations of the calibration set.
import { addLowerGram } from '../linalg/gram.js';

export interface InputMoments { dim: number; samples: number; c: Float64Array }

/** Rows copied to f64 at once: bounds the scratch memory for long sequences (rank > 2 inputs). */
const CHUNK_ROWS = 2048;

export class MomentAccumulator {
  /** Lower triangle of Σ XᵀX; mirrored when the moments are read. */
  private readonly sum: Float64Array;
  private samples = 0;

  constructor(readonly dim: number) {
    this.sum = new Float64Array(dim * dim);
  }

  /**
   * Adds a batch of samples: `x` holds rows of `dim` features, row-major, or feature-major
   * (`dim` rows of samples, the way Gemm with transA=1 receives its input).
   */
  addSamples(x: ArrayLike<number>, featureMajor = false): void {
    const d = this.dim, rows = x.length / d;
    if (!Number.isInteger(rows)) throw new Error(`a batch of ${x.length} values is not a whole number of ${d}-wide rows`);
    for (let r0 = 0; r0 < rows; r0 += CHUNK_ROWS) {
      const len = Math.min(CHUNK_ROWS, rows - r0);
      // One contiguous vector per feature, so the Gram is pairwise dot products.
      const vecs = new Float64Array(d * len);
      for (let c = 0; c < d; c++) {
        for (let r = 0; r < len; r++) vecs[c * len + r] = featureMajor ? x[c * rows + r0 + r] : x[(r0 + r) * d + c];
      }
      addLowerGram(vecs, d, len, this.sum);
    }
    this.samples += rows;
  }

  /** Adds the Gram XᵀX (dim×dim, symmetric) of `rows` samples computed elsewhere. */
  addGram(g: ArrayLike<number>, rows: number): void {
    const d = this.dim;
    for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) this.sum[i * d + j] += g[i * d + j];
    this.samples += rows;
  }

  moments(): InputMoments {
    const d = this.dim, n = this.samples;
    if (n === 0) throw new Error('no calibration samples');
    const c = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) c[i * d + j] = c[j * d + i] = this.sum[i * d + j] / n;
    }
    return { dim: d, samples: n, c };
  }
}
