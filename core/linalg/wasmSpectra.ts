// JS side of the WebAssembly kernels (wasm/spectra.c): lays out one shared memory per job,
// streams the f32 input through it in chunks (so the whole matrix is never copied in), and
// drives the Gram and tridiagonalisation kernels — and, for truncated SVDs, the back-
// transformation of eigenvectors and the products with the input. Optional helper threads
// run the same module on the same memory and take their share of every parallel step.
import { SPECTRA_WASM_BASE64 } from './wasm/spectraWasm.js';
import { readReduction, writeReduction, type ReductionPlace, type ReductionViews } from './reductionFile.js';
import { tridiagonalEigenvalues } from './symmetricEigen.js';

/** Threads that join a job's parallel steps (see helper_loop in spectra.c). */
export interface Helpers {
  readonly count: number;
  /** Has helper t (1..count) instantiate `module` on `memory` and run helper_loop(ctrl, t). */
  start(module: WebAssembly.Module, memory: WebAssembly.Memory, ctrl: number): void;
}

export interface Kernels {
  gram_chunk(ctrl: number, g: number, ld: number, s: number, src: number, strideI: number, strideK: number, k: number, xp: number): void;
  tridiagonalize(ctrl: number, a: number, ld: number, n: number, nb: number, d: number, e: number, tau: number,
    v: number, w: number, vp: number, wp: number, y: number): void;
  apply_reflectors(ctrl: number, a: number, ld: number, n: number, tau: number, x: number, count: number, xld: number): void;
  times_vectors(ctrl: number, x: number, rows: number, len: number, z: number, count: number, out: number, ostride: number): void;
  orthonormalize(v: number, count: number, len: number, from: number): number;
  cholesky(ctrl: number, l: number, n: number, jitter: number, a: number, ld: number, nb: number, vp: number): number;
  upper_product(ctrl: number, l: number, n: number, b: number, x: number, ps: number, panels: number): void;
  stop_helpers(ctrl: number): void;
  __heap_base: WebAssembly.Global;
}

/** Int32 indices into the control block (struct Ctrl in spectra.c). */
export const CTRL = { gen: 0, task: 1, done: 2, nthreads: 3, failed: 12 } as const;
export const TASK_QUIT = 0;

/** Samples per Gram chunk: enough to amortise a pass over G, small enough to stay in cache. */
export const CHUNK = 128;
/** Rows of the input per product chunk: their f32 block stays in L2 while all vectors pass. */
const PRODUCT_ROWS = 32;
/** Panel width of the blocked tridiagonalisation. */
const PANEL = 32;
export const PAGE = 65536;
/** A wasm32 memory addresses 4 GiB. */
export const MAX_PAGES = 65536;

/** Leading dimension of an s×s Gram: the kernel writes whole 4×4 tiles, so it leaves room past s. */
export const gramLd = (s: number): number => (s + 5) & ~1;

/** Bytes of the buffers gram_chunk works through for a Gram of side s: packed f64 samples, f32 input. */
export const gramChunkBytes = (s: number): { xp: number; src: number } => ({ xp: 8 * ((s + 3) & ~3) * CHUNK, src: 4 * s * CHUNK });

/** Where a Gram and its chunk buffers sit in a job's memory (byte offsets; ld in elements). */
export interface GramAt { ctrl: number; g: number; ld: number; xp: number; src: number }

/**
 * Adds the samples in `x` to the Gram of side s at `at.g`, CHUNK samples per kernel call:
 * `count` samples of s features each, stored sample after sample (`sampleMajor`) or as s
 * rows of `count` values (feature after feature); of those, samples `from` to `to`.
 */
export function feedGram(k: Kernels, heap: ArrayBuffer, at: GramAt, s: number, x: Float32Array, count: number, sampleMajor: boolean, from = 0, to = count): void {
  const f32 = new Float32Array(heap);
  const src = at.src / 4;
  for (let k0 = from; k0 < to; k0 += CHUNK) {
    const K = Math.min(CHUNK, to - k0);
    if (sampleMajor) {
      f32.set(x.subarray(k0 * s, (k0 + K) * s), src);
      k.gram_chunk(at.ctrl, at.g, at.ld, s, at.src, 1, s, K, at.xp);
    } else {
      for (let i = 0; i < s; i++) f32.set(x.subarray(i * count + k0, i * count + k0 + K), src + i * K);
      k.gram_chunk(at.ctrl, at.g, at.ld, s, at.src, K, 1, K, at.xp);
    }
  }
}
/** Threads assumed when sizing a job in advance (each needs one vector of workspace). */
const MAX_THREADS = 256;

/** Pages the module's own stack and data need (it declares 2). */
const STATIC_PAGES = 2;

let compiled: { module: WebAssembly.Module; heapBase: number } | undefined;
/** The compiled module and where its heap starts (read once from a throwaway instance). */
export function spectraModule(): { module: WebAssembly.Module; heapBase: number } {
  if (!compiled) {
    const module = new WebAssembly.Module(Buffer.from(SPECTRA_WASM_BASE64, 'base64'));
    const memory = new WebAssembly.Memory({ initial: STATIC_PAGES, maximum: STATIC_PAGES, shared: true });
    const probe = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
    compiled = { module, heapBase: probe.__heap_base.value as number };
  }
  return compiled;
}

/**
 * A memory reused job after job and grown in place when a job needs more. Replacing it would
 * leave the old one for a garbage collection that threads which allocate little else seldom
 * run: resident memory would keep both (a spectrum's, then a truncated SVD's). A shared memory
 * reserves its maximum as address space only; pages count once touched. Its jobs must never
 * overlap (each user's run synchronously; helpers have left at close).
 */
export function reusableMemory(): (pages: number) => WebAssembly.Memory {
  let reusable: WebAssembly.Memory | undefined;
  return (pages) => {
    if (!reusable) reusable = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
    const have = reusable.buffer.byteLength / PAGE;
    if (have < pages) reusable.grow(pages - have);
    return reusable;
  };
}

/** This thread's GramReduction memory. */
const threadMemory = reusableMemory();

/**
 * Byte offsets of one job's buffers, each 16-byte aligned. `vectors` reserves room for that
 * many eigenvectors (length s) and their images under the input (length `samples`).
 */
function layout(base: number, s: number, samples: number, threads: number, vectors: number) {
  const ld = gramLd(s);
  // Arithmetic, not bitwise, alignment: offsets pass 2³¹ for sides above ≈ 16 000.
  const align = (x: number): number => Math.ceil(x / 16) * 16;
  let at = align(base);
  const take = (bytes: number): number => { const p = at; at = align(at + bytes); return p; };
  const ctrl = take(64);
  const g = take(8 * ld * ld);
  const d = take(8 * s), e = take(8 * s), tau = take(8 * s), lambda = take(8 * s);
  const x = take(8 * s * vectors), out = take(8 * samples * vectors);
  // The Gram's chunk buffers (later the products' row blocks) and the reduction's workspace
  // are never live together.
  const scratch = at;
  const chunk = gramChunkBytes(s);
  const xp = take(chunk.xp);
  const src = take(chunk.src);
  const gramEnd = at;
  at = scratch;
  const [v, w, vp, wp] = [0, 1, 2, 3].map(() => take(8 * ld * PANEL));
  const y = take(8 * ld * threads);
  return { ld, ctrl, g, xp, src, d, e, tau, lambda, x, out, v, w, vp, wp, y, end: Math.max(at, gramEnd) };
}

/** Whether a GramReduction of an m×n matrix with room for `vectors` vectors fits the 4 GiB a WebAssembly memory can address. */
export function gramReductionFits(m: number, n: number, vectors = 0): boolean {
  return layout(spectraModule().heapBase, Math.min(m, n), Math.max(m, n), MAX_THREADS, vectors).end <= MAX_PAGES * PAGE;
}

/**
 * The f64 Gram matrix of the smaller side of a row-major m×n f32 matrix A (AᵀA when n ≤ m,
 * else AAᵀ; side s = min(m,n)) reduced to tridiagonal form T = QᵀGQ, with Q kept as
 * reflectors in the job's memory. Eigenvalues of T are the squared singular values; Q turns
 * eigenvectors of T into singular vectors of the Gram's side, and `project` gives the other side.
 * Holds its helper threads until `close`. A reduction kept (`keep`) by an earlier job on the
 * same matrix can be read back instead of computed (`from`).
 */
export class GramReduction {
  readonly side: number;
  /** Length of the other side: the number of samples the Gram sums over. */
  readonly samples: number;
  readonly d: Float64Array;
  readonly e: Float64Array;
  private readonly transpose: boolean;
  private readonly heap: ArrayBuffer;
  private closed = false;
  private values: Float64Array | undefined;

  /**
   * `vectors`: how many eigenvectors `eigenvectors` and `project` will be asked for at most.
   * `from`: where a reduction of this matrix may have been kept; computed when it holds none.
   */
  constructor(private readonly a: Float32Array, private readonly m: number, private readonly n: number,
    helpers?: Helpers, private readonly vectors = 0, from?: ReductionPlace) {
    this.transpose = n <= m;
    const s = this.side = this.transpose ? n : m;
    this.samples = this.transpose ? m : n;
    const { module, heapBase } = spectraModule();
    const threads = 1 + (helpers?.count ?? 0);
    const L = this.L = layout(heapBase, s, this.samples, threads, vectors);
    const pages = Math.ceil(L.end / PAGE);
    // wasm32 addresses 4 GiB: an f64 Gram of side ≈ 23 000 and up does not fit.
    if (pages > MAX_PAGES) throw new Error(`${m}×${n}: the f64 Gram of side ${s} needs more than the 4 GiB a WebAssembly memory can hold`);
    const memory = threadMemory(pages);
    this.k = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
    this.heap = memory.buffer as unknown as ArrayBuffer;
    // The Gram accumulates and the helpers' protocol starts from a zeroed control block.
    new Uint8Array(this.heap, L.ctrl, L.g + 8 * L.ld * s - L.ctrl).fill(0);
    new Int32Array(this.heap, L.ctrl, 16)[CTRL.nthreads] = threads;
    if (helpers && helpers.count > 0) helpers.start(module, memory, L.ctrl);
    try {
      if (from && readReduction(from, this.views())) this.values = Float64Array.from(this.views().lambda);
      else this.reduce();
    } catch (err) {
      this.close();
      throw err;
    }
    this.d = Float64Array.from(new Float64Array(this.heap, L.d, s));
    this.e = Float64Array.from(new Float64Array(this.heap, L.e, s));
  }

  private readonly L: ReturnType<typeof layout>;
  private readonly k: Kernels;

  /** Eigenvalues of T (the squared singular values), descending: by implicit QL, or as kept. */
  eigenvalues(): Float64Array {
    return this.values ??= tridiagonalEigenvalues(this.d, this.e).sort().reverse();
  }

  /** Leaves the reduction and its eigenvalues at `place` for a later job on the same matrix (`from`). */
  keep(place: ReductionPlace): void {
    const views = this.views();
    views.lambda.set(this.eigenvalues());
    writeReduction(place, views);
  }

  private views(): ReductionViews {
    const { L, side: s, heap } = this;
    const at = (offset: number, length: number): Float64Array => new Float64Array(heap, offset, length);
    return {
      rows: this.m, cols: this.n, side: s,
      column: (j) => at(L.g + 8 * (j * L.ld + j), s - j),
      tau: at(L.tau, s), d: at(L.d, s), e: at(L.e, s), lambda: at(L.lambda, s),
    };
  }

  private reduce(): void {
    const { L, k, a } = this;
    // Rows of A are the samples when the Gram is AᵀA; else each row is one feature over the samples.
    feedGram(k, this.heap, L, this.side, a, this.samples, this.transpose);
    k.tridiagonalize(L.ctrl, L.g, L.ld, this.side, PANEL, L.d, L.e, L.tau, L.v, L.w, L.vp, L.wp, L.y);
    this.checkHelpers();
  }

  /**
   * Room for `count` vectors of length s in the job's memory: eigenvectors of T written here
   * (tridiagonalEigenvectors' `out`) go to `eigenvectors` without a copy.
   */
  vectorSpace(count: number): Float64Array {
    this.checkCount(count);
    return new Float64Array(this.heap, this.L.x, count * this.side);
  }

  /** `count` vectors x in the job's vector space (already there when x is a view of it: `set` on an overlapping view would copy it whole first). */
  private placed(x: Float64Array, count: number): Float64Array {
    const into = this.vectorSpace(count);
    if (x.buffer !== into.buffer || x.byteOffset !== into.byteOffset) into.set(x.subarray(0, count * this.side));
    return into;
  }

  /**
   * Q·x_c for `count` vectors of length s (eigenvectors of T → eigenvectors of the Gram).
   * The result is a view of the job's memory, valid until this thread's next GramReduction:
   * a worker turns it into its reply before then, and copies would be garbage its rarely
   * collecting thread keeps (three per truncated SVD).
   */
  eigenvectors(x: Float64Array, count: number): Float64Array {
    const { L, side } = this;
    const into = this.placed(x, count);
    this.k.apply_reflectors(L.ctrl, L.g, L.ld, side, L.tau, L.x, count, side);
    this.checkHelpers();
    return into;
  }

  /**
   * An orthonormal basis of A·z_c (when the Gram is AᵀA) or Aᵀ·z_c (when it is AAᵀ) for
   * `count` vectors z_c of length s, taken in order (modified Gram–Schmidt, twice): for
   * eigenvectors of the Gram, the other side's singular vectors. Where an image is (numerically)
   * inside the span of the earlier ones — a zero singular value — `fill` gives a replacement,
   * since any orthonormal completion is valid there. Sums in f64 over the f32 input, streamed
   * in blocks of rows (of Aᵀ: columns of A). A view of the job's memory, like `eigenvectors`.
   */
  otherSide(z: Float64Array, count: number, fill: () => number): Float64Array {
    const { L, side, samples, a, n } = this;
    this.placed(z, count);
    const f32 = new Float32Array(this.heap);
    const src = L.src / 4;
    for (let r0 = 0; r0 < samples; r0 += PRODUCT_ROWS) {
      const R = Math.min(PRODUCT_ROWS, samples - r0);
      if (this.transpose) {
        f32.set(a.subarray(r0 * n, (r0 + R) * n), src);
      } else {
        for (let r = 0; r < R; r++) for (let i = 0; i < side; i++) f32[src + r * side + i] = a[i * n + r0 + r];
      }
      this.k.times_vectors(L.ctrl, L.src, R, side, L.x, count, L.out + 8 * r0, samples);
    }
    this.checkHelpers();
    const out = new Float64Array(this.heap, L.out, count * samples);
    for (let c = 0, tries = 0; (c = this.k.orthonormalize(L.out, count, samples, c)) < count;) {
      if (++tries > 8 * count + 8) throw new Error('could not complete an orthonormal basis');
      for (let i = c * samples; i < (c + 1) * samples; i++) out[i] = fill();
    }
    return out;
  }

  /** Releases the helper threads; the views already returned stay valid until the thread's next GramReduction. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.k.stop_helpers(this.L.ctrl);
  }

  private checkCount(count: number): void {
    if (this.closed) throw new Error('GramReduction used after close');
    if (count > this.vectors) throw new RangeError(`${count} vectors asked for, room was reserved for ${this.vectors}`);
  }

  private checkHelpers(): void {
    if (Atomics.load(new Int32Array(this.heap, this.L.ctrl, 16), CTRL.failed)) {
      throw new Error('a spectra helper thread failed; its share of the result is missing');
    }
  }
}
