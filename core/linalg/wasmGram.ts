// A streaming f64 Gram G = Σ XᵀX of f32 samples on the WebAssembly SIMD kernel the spectra
// use (gram_chunk in wasm/spectra.c): samples are fed in chunks as they arrive, so whoever
// collects them (calibration statistics) never holds them all. Single-threaded, one memory
// per accumulator.
import { CTRL, spectraModule, type Kernels } from './wasmSpectra.js';

/** Samples per kernel call, as in gramTridiagonal. */
const CHUNK = 128;
const PAGE = 65536;
const MAX_PAGES = 65536;

export class WasmGram {
  private readonly k: Kernels;
  private readonly memory: WebAssembly.Memory;
  private readonly ld: number;
  private readonly at: { ctrl: number; g: number; xp: number; src: number };

  constructor(readonly size: number) {
    const { module, heapBase } = spectraModule();
    const s = size, s4 = (s + 3) & ~3;
    // The kernel writes whole 4×4 tiles: G's leading dimension leaves room past s.
    this.ld = (s + 5) & ~1;
    const align = (x: number): number => Math.ceil(x / 16) * 16;
    let end = align(heapBase);
    const take = (bytes: number): number => { const p = end; end = align(end + bytes); return p; };
    this.at = { ctrl: take(64), g: take(8 * this.ld * this.ld), xp: take(8 * s4 * CHUNK), src: take(4 * s * CHUNK) };
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
    const s = this.size, rows = x.length / s;
    if (!Number.isInteger(rows)) throw new Error(`${x.length} values are not a whole number of ${s}-wide samples`);
    const f32 = new Float32Array(this.heap);
    const src = this.at.src / 4;
    for (let k0 = 0; k0 < rows; k0 += CHUNK) {
      const K = Math.min(CHUNK, rows - k0);
      if (featureMajor) {
        for (let i = 0; i < s; i++) f32.set(x.subarray(i * rows + k0, i * rows + k0 + K), src + i * K);
        this.k.gram_chunk(this.at.ctrl, this.at.g, this.ld, s, this.at.src, K, 1, K, this.at.xp);
      } else {
        f32.set(x.subarray(k0 * s, (k0 + K) * s), src);
        this.k.gram_chunk(this.at.ctrl, this.at.g, this.ld, s, this.at.src, 1, s, K, this.at.xp);
      }
    }
    return rows;
  }

  /** G as a full symmetric row-major size×size matrix. */
  matrix(): Float64Array {
    const s = this.size, ld = this.ld;
    const g = new Float64Array(this.heap, this.at.g, ld * ld);
    const out = new Float64Array(s * s);
    // The kernel fills G(i, j), i ≥ j, at g[j·ld + i].
    for (let j = 0; j < s; j++) for (let i = j; i < s; i++) out[i * s + j] = out[j * s + i] = g[j * ld + i];
    return out;
  }
}
