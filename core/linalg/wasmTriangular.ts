// Cholesky factors and products with their transposes on the spectra module's WebAssembly
// SIMD kernels (cholesky and upper_product in wasm/spectra.c), for data-aware compression
// (compress/whiten.ts). Single-threaded: whitening runs on the job's own thread, alongside
// the engine's spectra, which keep its worker threads busy. One memory serves every call.
import { CTRL, gramLd, MAX_PAGES, PAGE, reusableMemory, spectraModule, type Kernels } from './wasmSpectra.js';

/** Columns per Cholesky panel: wider panels halve the passes over the trailing matrix. */
const PANEL = 64;

const memory = reusableMemory();
let bound: { k: Kernels; memory: WebAssembly.Memory } | undefined;

/**
 * Room for buffers of the given sizes in bytes (16-byte aligned, after a control block set
 * up for one thread): their byte offsets, the kernels and the heap.
 */
function place(what: string, sizes: number[]): { k: Kernels; heap: ArrayBuffer; ctrl: number; at: number[] } {
  const { module, heapBase } = spectraModule();
  const align = (x: number): number => Math.ceil(x / 16) * 16;
  let end = align(heapBase);
  const ctrl = end;
  end += 64;
  const at = sizes.map((bytes) => { const p = end; end = align(end + bytes); return p; });
  const pages = Math.ceil(end / PAGE);
  if (pages > MAX_PAGES) throw new Error(`${what} needs more than the 4 GiB a WebAssembly memory can hold`);
  const m = memory(pages);
  if (bound?.memory !== m) bound = { k: new WebAssembly.Instance(module, { env: { memory: m } }).exports as unknown as Kernels, memory: m };
  const heap = m.buffer as unknown as ArrayBuffer;
  const c = new Int32Array(heap, ctrl, 16);
  c.fill(0);
  c[CTRL.nthreads] = 1;
  return { k: bound.k, heap, ctrl, at };
}

/** Bytes of L as the kernels read it: row-major n×n, then 4 doubles that edge tiles may read. */
const lBytes = (n: number): number => 8 * (n * n + 4);

/** L with L·Lᵀ = C + jitter·I, C symmetric n×n row-major (lower triangle read); undefined when that is not numerically positive definite. */
export function cholesky(c: Float64Array, n: number, jitter: number): Float64Array | undefined {
  const ld = gramLd(n);
  const { k, heap, ctrl, at: [l, a, vp] } = place(`a Cholesky factor of side ${n}`, [lBytes(n), 8 * ld * ld, 8 * ld * PANEL]);
  new Float64Array(heap, l, n * n).set(c);
  if (!k.cholesky(ctrl, l, n, jitter, a, ld, PANEL, vp)) return undefined;
  return new Float64Array(heap, l, n * n).slice();
}

/** Doubles per packed panel of 4 columns for n rows (see upper_product in spectra.c). */
const panelSize = (n: number): number => 4 * (Math.ceil(n / 4) * 4);

/** Places lower-triangular L and room for two n×cols matrices in packed panels. */
function placeProduct(l: Float64Array, n: number, cols: number) {
  const panels = Math.ceil(cols / 4), ps = panelSize(n);
  const placed = place(`a product with a triangular matrix of side ${n}`, [lBytes(n), 8 * ps * panels, 8 * ps * panels]);
  const [at, b, x] = placed.at;
  const lv = new Float64Array(placed.heap, at, n * n + 4);
  lv.set(l);
  lv.fill(0, n * n);
  const view = (offset: number): Float64Array => new Float64Array(placed.heap, offset, ps * panels);
  return { ...placed, l: at, b, x, bv: view(b), xv: view(x), ps, panels };
}

/** Into panels of 4 columns, those past `cols` zero. */
function pack(src: Float32Array | Float64Array, n: number, cols: number, into: Float64Array, ps: number): void {
  into.fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < cols; j++) into[(j >> 2) * ps + 4 * i + (j & 3)] = src[i * cols + j];
}

function unpack<T extends Float32Array | Float64Array>(from: Float64Array, n: number, cols: number, ps: number, out: T): T {
  for (let i = 0; i < n; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = from[(j >> 2) * ps + 4 * i + (j & 3)];
  return out;
}

/** Lᵀ·W for lower-triangular L (n×n, row-major) and W (n×cols), summed in f64. */
export function lowerTransposedTimes(l: Float64Array, w: Float32Array, n: number, cols: number): Float32Array {
  const p = placeProduct(l, n, cols);
  pack(w, n, cols, p.bv, p.ps);
  p.xv.fill(0); // the kernel adds to it
  p.k.upper_product(p.ctrl, p.l, n, p.b, p.x, p.ps, p.panels);
  return unpack(p.xv, n, cols, p.ps, new Float32Array(n * cols));
}

/** X with Lᵀ·X = Y, for lower-triangular L (n×n, row-major) and Y (n×k). */
export function lowerTransposedSolve(l: Float64Array, y: Float64Array, n: number, k: number): Float64Array {
  const p = placeProduct(l, n, k);
  pack(y, n, k, p.xv, p.ps);
  p.k.upper_product(p.ctrl, p.l, n, 0, p.x, p.ps, p.panels);
  return unpack(p.xv, n, k, p.ps, new Float64Array(n * k));
}
