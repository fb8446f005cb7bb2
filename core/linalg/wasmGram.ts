// A streaming f64 Gram G = Σ XᵀX of f32 samples on the WebAssembly SIMD kernel the spectra
// use (gram_chunk in wasm/spectra.c, fed as in GramReduction): samples are fed in chunks as
// they arrive, so whoever collects them (calibration statistics) never holds them all.
// Single-threaded, one memory per accumulator.
import { CTRL, feedGram, gramChunkBytes, gramLd, MAX_PAGES, PAGE, spectraModule, type GramAt, type Kernels } from './wasmSpectra.js';

export class WasmGram {
  private readonly k: Kernels;
  private readonly memory: WebAssembly.Memory;
  private readonly at: GramAt;

  constructor(readonly size: number) {
    const { module, heapBase } = spectraModule();
    const s = size, ld = gramLd(s);
    const align = (x: number): number => Math.ceil(x / 16) * 16;
    let end = align(heapBase);
    const take = (bytes: number): number => { const p = end; end = align(end + bytes); return p; };
    const chunk = gramChunkBytes(s);
    this.at = { ctrl: take(64), g: take(8 * ld * ld), ld, xp: take(chunk.xp), src: take(chunk.src) };
    const pages = Math.ceil(end / PAGE);
    if (pages > MAX_PAGES) throw new Error(`an f64 Gram of side ${s} needs more than the 4 GiB a WebAssembly memory can hold`);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    this.k = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as Kernels;
    new Int32Array(this.heap, this.at.ctrl, 16)[CTRL.nthreads] = 1;
  }

  private get heap(): ArrayBuffer { return this.memory.buffer as unknown as ArrayBuffer; }

  /**
   * Adds the samples in `x`: rows of `size` features, row-major, or feature-major (`size`
   * rows of samples). Returns the number of samples.
   */
  add(x: Float32Array, featureMajor = false): number {
    const rows = x.length / this.size;
    if (!Number.isInteger(rows)) throw new Error(`${x.length} values are not a whole number of ${this.size}-wide samples`);
    feedGram(this.k, this.heap, this.at, this.size, x, rows, !featureMajor);
    return rows;
  }

  /** G as a full symmetric row-major size×size matrix. */
  matrix(): Float64Array {
    const s = this.size, ld = this.at.ld;
    const g = new Float64Array(this.heap, this.at.g, ld * ld);
    const out = new Float64Array(s * s);
    // The kernel fills G(i, j), i ≥ j, at g[j·ld + i].
    for (let j = 0; j < s; j++) for (let i = j; i < s; i++) out[i * s + j] = out[j * s + i] = g[j * ld + i];
    return out;
  }
}
