// A streaming f64 Gram G = Σ XᵀX of f32 samples on the WebAssembly SIMD kernel the spectra
// use (gram_chunk in wasm/spectra.c, fed as in GramReduction): samples are fed in chunks as
// they arrive, so whoever collects them (calibration statistics) never holds them all.
// One memory per accumulator; helper threads, where given, join the sums of large batches.
import { CTRL, feedGram, gramChunkBytes, gramLd, MAX_PAGES, PAGE, spectraModule, type GramAt, type Helpers, type Kernels } from './wasmSpectra.js';

/** Below this side gram_chunk's update runs on the caller alone (rank_update's `small`). */
const HELP_FROM_SIDE = 128;
/**
 * Multiply-adds of one add() below which it runs alone: helpers are started and stopped per
 * add(), each accumulator having its own memory. At side 240, an add of 1 000 samples
 * (2^25.8 multiply-adds) took as long with a helper as without, one of 4 096 samples 30 % less.
 */
const HELP_FROM_WORK = 2 ** 26;

export class WasmGram {
  private readonly k: Kernels;
  private readonly memory: WebAssembly.Memory;
  private readonly at: GramAt;

  constructor(readonly size: number, private readonly helpers?: Helpers) {
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
   * rows of samples); of those, samples `from` to `to` (default all). Returns how many were added.
   */
  add(x: Float32Array, featureMajor = false, from = 0, to?: number): number {
    const count = x.length / this.size;
    if (!Number.isInteger(count)) throw new Error(`${x.length} values are not a whole number of ${this.size}-wide samples`);
    const s = this.size, end = to ?? count, rows = end - from;
    const help = this.helpers && this.helpers.count > 0 && s >= HELP_FROM_SIDE && rows * s * s >= HELP_FROM_WORK ? this.helpers : undefined;
    if (!help) {
      feedGram(this.k, this.heap, this.at, s, x, count, !featureMajor, from, end);
      return rows;
    }
    // helper_loop's protocol starts from a zeroed control block.
    const ctrl = new Int32Array(this.heap, this.at.ctrl, 16);
    ctrl.fill(0);
    ctrl[CTRL.nthreads] = 1 + help.count;
    help.start(spectraModule().module, this.memory, this.at.ctrl);
    try {
      feedGram(this.k, this.heap, this.at, s, x, count, !featureMajor, from, end);
    } finally {
      this.k.stop_helpers(this.at.ctrl);
      ctrl[CTRL.nthreads] = 1;
    }
    if (Atomics.load(ctrl, CTRL.failed)) throw new Error('a Gram helper thread failed; its share of the sums is missing');
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
