// The small part of h5wasm the HDF5 worker (containers/h5Thread.ts, reading) and the Keras writer
// (writing our own new file) use, with HDF5 errors turned into one-line InputErrors. Nothing
// here may read a file from outside on the calling thread: see containers/h5Remote.ts. h5wasm's Node build runs libhdf5 in WebAssembly over the host file
// system (NODERAWFS): files are read and written in place, but every dataset read or
// written passes through the wasm heap, so one tensor is limited by Module.MAXIMUM_MEMORY.
// h5wasm cannot create float16 datasets (its type builder knows 4- and 8-byte floats only),
// so float16 datasets are written by keras/half.ts.
import type { Dataset, File, Group } from 'h5wasm/node';
import type { DType } from '../../types.js';
import { InputError } from '../../types.js';

type H5Lib = typeof import('h5wasm/node').default;
type H5Module = Awaited<H5Lib['ready']>;
let modulePromise: Promise<H5Module> | undefined;
/** The library and its loaded module, for synchronous use once a file is open. */
let lib: H5Lib | undefined;
let loaded: H5Module | undefined;

/**
 * Loads the wasm module once and makes HDF5 errors throw instead of printing to stderr.
 * Imported here, not at the top: importing h5wasm instantiates libhdf5 (≈ 0.35 s of CPU), which
 * every CLI command would otherwise pay, HDF5 model or not.
 */
export function h5(): Promise<H5Module> {
  modulePromise ??= import('h5wasm/node').then(async ({ default: h5wasm }) => {
    const m = await h5wasm.ready;
    m.activate_throwing_error_handler();
    lib = h5wasm;
    loaded = m;
    return m;
  });
  return modulePromise;
}

/** The innermost reason of an HDF5 error stack, e.g. "truncated file: eof = 1000, …". */
export function h5Reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const reasons = [...text.matchAll(/#\d+: .* in [\w:]+\(\): (.*)$/gm)].map((m) => m[1].trim());
  return reasons.at(-1) ?? text.split('\n')[0];
}

/** An HDF5 library error (a corrupt file met after opening) as a one-line InputError; other errors as they are. */
export function h5Refusal(e: unknown, shownAs: string): unknown {
  if (!(e instanceof Error)) return e;
  if (e.message.startsWith('HDF5-DIAG')) return new InputError(shownAs, `corrupt HDF5 file (${h5Reason(e)})`);
  // libhdf5 recursing through a corrupt file's cyclic structure overflows the wasm stack.
  if (e instanceof RangeError && /call stack/.test(e.message)) return new InputError(shownAs, 'corrupt HDF5 file (structure nested too deeply)');
  return e;
}

export async function openH5(path: string, mode: 'r' | 'w', shownAs: string = path): Promise<File> {
  await h5();
  try {
    // HDF5 1.8 formats: compact groups (a group costs ~100 bytes, not the ~1.5 KB of a
    // symbol-table group), readable by any HDF5 ≥ 1.8, i.e. every h5py Keras has used.
    return mode === 'w' ? new lib!.File(path, mode, { libver: ['v108', 'v110'] }) : new lib!.File(path, mode);
  } catch (e) {
    throw new InputError(shownAs, `not a readable HDF5 file (${h5Reason(e)})`);
  }
}

/** Only meaningful once a file is open (h5 has loaded the library): nothing is a Group before. */
export function isGroup(x: unknown): x is Group { return lib !== undefined && x instanceof lib.Group; }
export function isDataset(x: unknown): x is Dataset { return lib !== undefined && x instanceof lib.Dataset; }

const FLOATS: Record<number, DType> = { 2: 'float16', 4: 'float32', 8: 'float64' };
const SIGNED: Record<number, DType> = { 1: 'int8', 4: 'int32', 8: 'int64' };
const UNSIGNED: Record<number, DType> = { 1: 'uint8', 2: 'uint16' };

/** Our element type for a numeric dataset, or undefined for strings, compounds, exotic ints. */
export function datasetDType(ds: Dataset): DType | undefined {
  const m = ds.metadata;
  if (m.type === 1) return FLOATS[m.size];
  if (m.type === 0) return (m.signed ? SIGNED : UNSIGNED)[m.size];
  return undefined;
}

/**
 * How many times its stored size a filtered (compressed) dataset may inflate to. Float weights
 * barely compress (gzip: 1.1×; a pruned, mostly-zero kernel: ~10×); gzip itself tops out near
 * 1000×, which is what a decompression bomb of zeros reaches.
 */
export const MAX_INFLATION = 100;
/** Datasets this small are read whatever the file's size (they cannot exhaust memory). */
const ALWAYS_READABLE = 1 << 20;

/** The target of `path` if it is an external link, looked up without following it. */
export function externalLinkOf(fileId: bigint, path: string): { filename: string; obj_path: string } | undefined {
  const link = loaded!.get_external_link(fileId, path) as { filename?: string; obj_path?: string };
  return typeof link?.filename === 'string' ? { filename: link.filename, obj_path: link.obj_path ?? '' } : undefined;
}

/** The files and datasets a virtual dataset maps, or undefined for any other layout. */
export function virtualSourcesOf(ds: Dataset): { file_name: string; dset_name: string }[] | undefined {
  return ds.metadata.virtual_sources;
}

/** Whether a dataset is stored in chunks (the only layout filters apply to). */
export function isChunked(ds: Dataset): boolean { return Array.isArray(ds.metadata.chunks); }

/**
 * Reads the first element of a numeric, unchunked dataset and throws it away: external storage
 * (raw data in other files) is opened only when data is read, so this is what makes libhdf5
 * reach for those files while the HDF5 worker's file guard is watching.
 */
export function probeFirstElement(ds: Dataset): void {
  const m = ds.metadata;
  if ((m.type !== 0 && m.type !== 1) || !m.shape || m.total_size === 0) return;
  const mod = loaded!;
  const ptr = mod._malloc(Math.max(8, m.size));
  try {
    const ones = m.shape.map(() => 1n);
    mod.get_dataset_data(ds.file_id, ds.path, m.shape.length ? ones : null, m.shape.length ? m.shape.map(() => 0n) : null, m.shape.length ? ones : null, BigInt(ptr));
  } finally {
    mod._free(ptr);
  }
}

/** A filtered dataset is inflated this many bytes at a time (rounded to whole chunk rows), checking its inflation after each. */
const FILTERED_SLAB = 16 * 1024 * 1024;
/** The largest chunk of a filtered dataset read: libhdf5 inflates a whole chunk before the check after its slab can run. */
const MAX_FILTERED_CHUNK = 64 * 1024 * 1024;

/**
 * All stored bytes of a numeric dataset, little-endian, in row-major order. `fileBytes` (the
 * file's size) bounds what it may declare: an unfiltered dataset's bytes are in the file, a
 * filtered one's at most MAX_INFLATION times the file; past that the data is fill values or a
 * decompression bomb, refused before libhdf5 inflates any of it. A filtered dataset is then
 * inflated slab by slab against what libhdf5 has read of the file meanwhile (`fileRead`, a
 * running count), so a bomb padded with other data to pass the whole-file bound is stopped
 * after one slab, not after inflating all it declares.
 */
export async function readDatasetBytes(ds: Dataset, shownAs: string, fileBytes: number, fileRead: () => number): Promise<Uint8Array> {
  const m = ds.metadata;
  if (!m.littleEndian && m.size > 1) throw new InputError(shownAs, `dataset ${ds.path} is big-endian, which Keras never writes`);
  const mod = await h5();
  const nbytes = m.size * m.total_size;
  if (nbytes > mod.MAXIMUM_MEMORY / 2) throw new InputError(shownAs, `dataset ${ds.path} (${nbytes} bytes) is too large for the WebAssembly HDF5 reader`);
  const filtered = isChunked(ds) && ds.filters.length > 0;
  if (nbytes > ALWAYS_READABLE && nbytes > fileBytes * (filtered ? MAX_INFLATION : 1)) {
    throw new InputError(shownAs, `dataset ${ds.path} (${nbytes} bytes) is too large for a ${fileBytes}-byte file: ${filtered
      ? `it would inflate to more than ${MAX_INFLATION}× the whole file (a decompression bomb)`
      : 'the file cannot hold its data'}`);
  }
  try {
    return filtered && m.shape && m.shape.length > 0 && nbytes > ALWAYS_READABLE
      ? readInSlabs(ds, m.shape, m.chunks as number[], m.size, shownAs, fileRead)
      : readSelection(ds, null, null, nbytes, shownAs);
  } catch (e) {
    throw e instanceof InputError ? e : new InputError(shownAs, `cannot read dataset ${ds.path} (${h5Reason(e)})`);
  }
}

/** The rows [start, start + count[0]) of a dataset (the whole of it when `count` is null), `nbytes` long. */
function readSelection(ds: Dataset, count: bigint[] | null, offset: bigint[] | null, nbytes: number, shownAs: string): Uint8Array {
  const mod = loaded!;
  const ptr = mod._malloc(Math.max(1, nbytes));
  if (!ptr) throw new InputError(shownAs, `out of WebAssembly memory reading ${ds.path}`);
  try {
    mod.get_dataset_data(ds.file_id, ds.path, count, offset, count && count.map(() => 1n), BigInt(ptr));
    return mod.HEAPU8.slice(ptr, ptr + nbytes);
  } finally {
    mod._free(ptr);
  }
}

function readInSlabs(ds: Dataset, shape: number[], chunks: number[], itemSize: number, shownAs: string, fileRead: () => number): Uint8Array {
  const chunkBytes = chunks.reduce((a, b) => a * b, itemSize);
  if (chunkBytes > MAX_FILTERED_CHUNK) throw new InputError(shownAs, `dataset ${ds.path} is compressed in ${chunkBytes}-byte chunks, over the ${MAX_FILTERED_CHUNK}-byte limit`);
  const rowBytes = shape.slice(1).reduce((a, b) => a * b, itemSize);
  const rowsPerSlab = Math.max(1, Math.floor(FILTERED_SLAB / rowBytes / chunks[0])) * chunks[0];
  // Pages of a fresh buffer are not touched until written: memory grows with what is inflated.
  const out = new Uint8Array(shape[0] * rowBytes);
  const readBefore = fileRead();
  for (let row = 0; row < shape[0]; row += rowsPerSlab) {
    const rows = Math.min(rowsPerSlab, shape[0] - row);
    out.set(readSelection(ds, [BigInt(rows), ...shape.slice(1).map(BigInt)], [BigInt(row), ...shape.slice(1).map(() => 0n)], rows * rowBytes, shownAs), row * rowBytes);
    const inflated = (row + rows) * rowBytes, stored = fileRead() - readBefore;
    if (inflated > ALWAYS_READABLE && inflated > stored * MAX_INFLATION) {
      throw new InputError(shownAs, `dataset ${ds.path} inflated ${stored} bytes of the file to ${inflated} and declares ${out.length}: more than ${MAX_INFLATION}× (a decompression bomb)`);
    }
  }
  return out;
}

const WRITABLE: Partial<Record<DType, { code: string; view: (b: ArrayBuffer) => ArrayBufferView }>> = {
  float32: { code: '<f4', view: (b) => new Float32Array(b) },
  float64: { code: '<f8', view: (b) => new Float64Array(b) },
  int8: { code: '<b', view: (b) => new Int8Array(b) },
  int32: { code: '<i4', view: (b) => new Int32Array(b) },
  int64: { code: '<i8', view: (b) => new BigInt64Array(b) },
  uint8: { code: '<B', view: (b) => new Uint8Array(b) },
  uint16: { code: '<H', view: (b) => new Uint16Array(b) },
};

/** Creates `name` in `group` holding `bytes` of `dtype` (contiguous, uncompressed, as Keras writes). */
export function writeDataset(group: Group, name: string, bytes: Uint8Array, dtype: DType, shape: number[], shownAs: string): Dataset {
  const w = WRITABLE[dtype];
  if (!w) throw new InputError(shownAs, `cannot write ${dtype} weights to HDF5`);
  const copy = bytes.slice().buffer;
  return group.create_dataset({ name, data: w.view(copy) as Float32Array, shape, dtype: w.code });
}

/**
 * Reads variable-length strings as h5wasm's Attribute.value does, except that the library's
 * vlen buffers are reclaimed only after a successful read: h5wasm reclaims them after a failed
 * one too, which aborts the WebAssembly module (every later HDF5 call in the process fails).
 */
export function vlenStrings(obj: { file_id: bigint; path: string }, name: string, m: { cset?: number; size: number; total_size: number; shape: number[] | null }): string | string[] | undefined {
  const mod = loaded!;
  const nbytes = m.size * m.total_size;
  if (!m.shape || nbytes > mod.MAXIMUM_MEMORY / 4) return undefined;
  const ptr = mod._malloc(Math.max(1, nbytes));
  try {
    mod.get_attribute_data(obj.file_id, obj.path, name, BigInt(ptr));
    const read = m.cset === 1 ? mod.UTF8ToString : mod.AsciiToString;
    const out = [...new Uint32Array(mod.HEAPU8.slice(ptr, ptr + nbytes).buffer)].map((p) => read(p));
    mod.reclaim_vlen_memory(obj.file_id, obj.path, name, BigInt(ptr));
    return m.shape.length === 0 ? out[0] : out;
  } finally {
    mod._free(ptr);
  }
}

const ATTR_CHUNK = 64_000;

/** Writes a name list the way Keras does: fixed-length byte strings, chunked past 64 KB. */
export function writeNameListAttr(obj: Group, name: string, names: string[]): void {
  const width = Math.max(1, ...names.map((n) => new TextEncoder().encode(n).length)) + 1;
  const per = Math.max(1, Math.floor(ATTR_CHUNK / width));
  if (names.length === 0) { obj.create_attribute(name, new Float64Array(0), [0], '<f8'); return; }
  const chunks = names.length <= per ? [names] : Array.from({ length: Math.ceil(names.length / per) }, (_, i) => names.slice(i * per, (i + 1) * per));
  chunks.forEach((c, i) => obj.create_attribute(chunks.length === 1 ? name : `${name}${i}`, c, [c.length], `A${width}`));
}
