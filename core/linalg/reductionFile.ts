// A GramReduction kept on disk between a job's two passes over the same weights: compress
// computes every layer's spectrum to plan ranks, then the truncated SVD of each layer at its
// rank. Both start with the same f64 Gram and tridiagonal reduction, the bulk of either's
// cost; the spectrum pass leaves it in a scratch file and the SVD reads it back (≈ 1× the
// layer's f32 bytes for a square layer: the reflectors fill the lower triangle of an f64
// Gram of side s) instead of redoing it. Written and read synchronously on the worker thread
// that computes, from and into the job's WebAssembly memory.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

/** Where one layer's reduction goes: `bytes` (reductionBytes) at `offset` in the file `path`. */
export interface ReductionPlace { path: string; offset: number }

/** Identifies a reduction: a region never written (zeros) or another matrix's does not match. */
const MAGIC = 0x5244_4331; // "RDC1"
const HEADER = 4; // magic, rows, cols, side (f64 each)

/** Bytes of a reduction of side s: header, columns j = 0..s-1 from row j down, then τ, d, e, eigenvalues. */
export const reductionBytes = (side: number): number => 8 * (HEADER + (side * (side + 1)) / 2 + 4 * side);

/** The parts of a reduction as views of the job's memory (column j: its rows j..s-1). */
export interface ReductionViews {
  rows: number; cols: number; side: number;
  column(j: number): Float64Array;
  tau: Float64Array; d: Float64Array; e: Float64Array; lambda: Float64Array;
}

function* parts(v: ReductionViews): Generator<Float64Array> {
  for (let j = 0; j < v.side; j++) yield v.column(j);
  yield v.tau; yield v.d; yield v.e; yield v.lambda;
}

const header = (v: ReductionViews): Float64Array => Float64Array.of(MAGIC, v.rows, v.cols, v.side);

/** Writes the reduction at its place. A failure (a full disk) only means the SVD will redo it. */
export function writeReduction(place: ReductionPlace, v: ReductionViews): void {
  let fd: number | undefined;
  try {
    fd = openSync(place.path, 'r+');
    let at = place.offset + 8 * HEADER;
    for (const part of parts(v)) at += writeAll(fd, part, at);
    // The header last: a reduction cut short by a failure never matches.
    writeAll(fd, header(v), place.offset);
  } catch {
    // Not kept: truncated SVDs of this matrix compute it afresh.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Fills the views from the place; false (views undefined) when it holds no reduction of this matrix. */
export function readReduction(place: ReductionPlace, v: ReductionViews): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(place.path, 'r');
    const want = header(v), got = new Float64Array(HEADER);
    if (readAll(fd, got, place.offset) < got.byteLength || got.some((x, i) => x !== want[i])) return false;
    let at = place.offset + 8 * HEADER;
    for (const part of parts(v)) {
      const n = readAll(fd, part, at);
      if (n < part.byteLength) return false;
      at += n;
    }
    return true;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeAll(fd: number, x: Float64Array, position: number): number {
  const bytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off, position + off);
  return bytes.length;
}

function readAll(fd: number, x: Float64Array, position: number): number {
  const bytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  let off = 0;
  for (let n; off < bytes.length && (n = readSync(fd, bytes, off, bytes.length - off, position + off)) > 0;) off += n;
  return off;
}
