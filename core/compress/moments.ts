// Streaming input second moment of a layer, C = XᵀX / N, summed chunk by chunk in f64 (on
// the WebAssembly Gram kernel) so that no collector (tfjs, onnxruntime) ever holds all
// activations of the calibration set.
import { WasmGram } from '../linalg/wasmGram.js';

export interface InputMoments { dim: number; samples: number; c: Float64Array }

export class MomentAccumulator {
  private readonly gram: WasmGram;
  private samples = 0;

  constructor(readonly dim: number) {
    this.gram = new WasmGram(dim);
  }

  /**
   * Adds a batch of samples: `x` holds rows of `dim` features, row-major (leading dimensions
   * of any rank flattened), or feature-major (`dim` rows of samples, as Gemm with transA=1
   * receives its input).
   */
  addSamples(x: Float32Array, featureMajor = false): void {
    this.samples += this.gram.add(x, featureMajor);
  }

  moments(): InputMoments {
    if (this.samples === 0) throw new Error('no calibration samples');
    const c = this.gram.matrix();
    for (let i = 0; i < c.length; i++) c[i] /= this.samples;
    return { dim: this.dim, samples: this.samples, c };
  }
}
