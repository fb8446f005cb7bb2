// JS side of the WebAssembly spectra kernels (wasm/spectra.c): lays out one shared memory
// per job, streams the f32 input through it in chunks (so the whole matrix is never copied
// in), and drives the Gram and tridiagonalisation kernels. Optional helper threads run the
// same module on the same memory and take their share of every parallel step.
import { SPECTRA_WASM_BASE64 } from './wasm/spectraWasm.js';

/** Threads that join a job's parallel steps (see helper_loop in spectra.c). */
export interface Helpers {
  readonly count: number;
  /** Has helper t (1..count) instantiate `module` on `memory` and run helper_loop(ctrl, t). */
  start(module: WebAssembly.Module, memory: WebAssembly.Memory, ctrl: number): void;
}

export interface Kernels {
  gram_chunk(ctrl: number, g: number, ld: number, s: number, src: number, strideI: number, strideK: number, k: number, xp: number): void;
  tridiagonalize(ctrl: number, a: number, ld: number, n: number, nb: number, d: number, e: number,
    v: number, w: number, vp: number, wp: number, y: number): void;
  stop_helpers(ctrl: number): void;
  __heap_base: WebAssembly.Global;
}

/** Int32 indices into the control block (struct Ctrl in spectra.c). */
export const CTRL = { gen: 0, task: 1, done: 2, nthreads: 3, failed: 12 } as const;
export const TASK_QUIT = 0;

/** Samples per Gram chunk: enough to amortise a pass over G, small enough to stay in cache. */
const CHUNK = 128;
/** Panel width of the blocked tridiagonalisation. */
const PANEL = 32;
const PAGE = 65536;
const MAX_PAGES = 65536;
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

/** Byte offsets of one job's buffers, each 16-byte aligned. */
function layout(base: number, s: number, threads: number) {
  const ld = (s + 5) & ~1;
  const s4 = (s + 3) & ~3;
  // Arithmetic, not bitwise, alignment: offsets pass 2³¹ for sides above ≈ 16 000.
  const align = (x: number): number => Math.ceil(x / 16) * 16;
  let at = align(base);
  const take = (bytes: number): number => { const p = at; at = align(at + bytes); return p; };
  const ctrl = take(64);
  const g = take(8 * ld * ld);
  const d = take(8 * s), e = take(8 * s);
  // The Gram's chunk buffers and the reduction's workspace are never live together.
  const scratch = at;
  const xp = take(8 * s4 * CHUNK);
  const src = take(4 * s * CHUNK);
  const gramEnd = at;
  at = scratch;
  const [v, w, vp, wp] = [0, 1, 2, 3].map(() => take(8 * ld * PANEL));
  const y = take(8 * ld * threads);
  return { ld, ctrl, g, xp, src, d, e, v, w, vp, wp, y, end: Math.max(at, gramEnd) };
}

/**
 * The tridiagonal form (d, e) of the f64 Gram matrix of the smaller side of a row-major m×n
 * f32 matrix: AᵀA when n ≤ m, else AAᵀ. Its eigenvalues are the squared singular values.
 */
export function gramTridiagonal(a: Float32Array, m: number, n: number, helpers?: Helpers): { d: Float64Array; e: Float64Array } {
  const transpose = n <= m;
  const s = transpose ? n : m, samples = transpose ? m : n;
  const { module, heapBase } = spectraModule();
  const threads = 1 + (helpers?.count ?? 0);
  const L = layout(heapBase, s, threads);
  const pages = Math.ceil(L.end / PAGE);
  // wasm32 addresses 4 GiB: an f64 Gram of side ≈ 23 000 and up does not fit.
  if (pages > MAX_PAGES) throw new Error(`${m}×${n}: the f64 Gram of side ${s} needs more than the 4 GiB a WebAssembly memory can hold`);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const k = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
  const heap = memory.buffer as unknown as ArrayBuffer;
  const ctrl = new Int32Array(heap, L.ctrl, 16);
  ctrl[CTRL.nthreads] = threads;
  if (helpers && helpers.count > 0) helpers.start(module, memory, L.ctrl);
  try {
    const f32 = new Float32Array(heap);
    for (let k0 = 0; k0 < samples; k0 += CHUNK) {
      const K = Math.min(CHUNK, samples - k0);
      if (transpose) {
        // K whole rows of A: X(i,k) = A[k0+k][i].
        f32.set(a.subarray(k0 * n, (k0 + K) * n), L.src / 4);
        k.gram_chunk(L.ctrl, L.g, L.ld, s, L.src, 1, n, K, L.xp);
      } else {
        // Columns k0.. of every row: X(i,k) = A[i][k0+k].
        for (let i = 0; i < m; i++) f32.set(a.subarray(i * n + k0, i * n + k0 + K), L.src / 4 + i * K);
        k.gram_chunk(L.ctrl, L.g, L.ld, s, L.src, K, 1, K, L.xp);
      }
    }
    k.tridiagonalize(L.ctrl, L.g, L.ld, s, PANEL, L.d, L.e, L.v, L.w, L.vp, L.wp, L.y);
  } finally {
    k.stop_helpers(L.ctrl);
  }
  if (Atomics.load(ctrl, CTRL.failed)) throw new Error('a spectra helper thread failed; its share of the result is missing');
  return { d: Float64Array.from(new Float64Array(heap, L.d, s)), e: Float64Array.from(new Float64Array(heap, L.e, s)) };
}
