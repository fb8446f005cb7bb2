// Writes a factorised state dict as safetensors (for safetensors and PyTorch inputs alike).
// Each factorised module `p` becomes the state dict of an nn.Sequential of two stock modules:
//   Linear  p.weight [out,in]        → p.0.weight [k,in] (Aᵀ),          p.1.weight [out,k] (Bᵀ)
//   Conv    p.weight [out,in,kh,kw]  → p.0.weight [k,in,kh,kw] (Aᵀ),    p.1.weight [out,k,1,1] (Bᵀ)
//   Embedding p.weight [vocab,dim]   → p.0.weight [vocab,k] (A),        p.1.weight [dim,k] (Bᵀ)
// with `p.bias` moving to `p.1.bias`. `__metadata__.reducible` (JSON) lists the modules so
// python/reducible_load.py can swap them before a stock load_state_dict. Factors are F32,
// F16 or BF16 (the source's precision unless asked otherwise); int8 factors are I8 with one
// F32 scale per rank component (`p.0.weight_scale`, `p.1.weight_scale`), which the helper
// folds back in. Untouched tensors are copied byte for byte, streamed from the source.
import { factorParams, type Factorisation, type FactorShape, type FactorSource, type OutputFile, type OutputSink, type WriteOptions, type Writer } from '../../compress/types.js';
import { DTYPE_BYTES, transpose } from '../../io/decode.js';
import { withReusedBuffer } from '../../io/layerBuffers.js';
import type { DType } from '../../types.js';
import { InputError } from '../../types.js';
import { encodeFloat16 } from '../quantize.js';
import { SAFETENSORS_DTYPES } from './read.js';
import type { StoredModel, StoredTensor } from '../storedModel.js';

const COPY_CHUNK = 16 * 1024 * 1024;
const CODES = Object.fromEntries(Object.entries(SAFETENSORS_DTYPES).map(([code, dtype]) => [dtype, code])) as Record<DType, string>;

type FactorCode = 'F32' | 'F16' | 'BF16' | 'I8';

interface Head {
  name: string;
  dtype: string;
  shape: number[];
  bytes: number;
}

/** Consecutive tensors of the output: their header entries, then their data written in that order. */
interface Entry {
  heads: Head[];
  write(out: OutputFile): Promise<void>;
}

/** What `__metadata__.reducible.layers[p]` says about one factorised module. */
export interface ReducedLayerMeta {
  kind: 'linear' | 'conv' | 'embedding';
  rank: number;
  in: number;
  out: number;
  kernel: number[];
  dtype: FactorCode;
  /** int8 factors: `p.0.weight_scale`/`p.1.weight_scale` hold one scale per rank component. */
  scales?: true;
}

/**
 * What a factorised Linear adds to a written header: `p.0.weight` and `p.1.weight` in place of
 * `p.weight`, `p.bias` renamed `p.1.bias`, and its line in `__metadata__.reducible` (168–176
 * bytes measured on the safetensors and PyTorch fixtures); a sharded index also maps the new
 * names to their shard (236 bytes measured, INDEX_PER_LAYER).
 */
export const HEADER_PER_LAYER = 176;
export const INDEX_PER_LAYER = 236;

/**
 * The bytes a safetensors file of `tensors`, as stored, spends besides their values, as
 * writeSafetensorsFile lays it out: the length, the JSON header (an entry per tensor, `__metadata__`
 * with its format and an empty `reducible`) and its padding to 8 bytes. For a source that is not
 * safetensors (a PyTorch checkpoint), whose own overhead (pickle, zip) is not written.
 */
export function safetensorsHeaderBytes(tensors: readonly StoredTensor[]): number {
  const names = Object.fromEntries(Object.entries(SAFETENSORS_DTYPES).map(([k, v]) => [v, k]));
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', reducible: JSON.stringify({ version: 1, layers: {} }) } };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: names[t.dtype] ?? t.dtype, shape: t.shape, data_offsets: [offset, offset + t.storedBytes] };
    offset += t.storedBytes;
  }
  return 8 + Math.ceil(new TextEncoder().encode(JSON.stringify(header)).length / 8) * 8;
}

/** A single safetensors file keeps its `__metadata__`; a PyTorch checkpoint has none. */
export const writeSafetensors: Writer<StoredModel<{ metadata: Record<string, string> } | undefined>> = async (model, factors, out, sink, opts) => {
  const metadata = model.extra?.metadata ?? {};
  await writeSafetensorsFile(model.path, model.tensors, metadata, factors, out, sink, opts);
};

/**
 * Writes `tensors` (all of a file, or one shard's) with the factors of the layers whose
 * weight is among them; `metadata` is the source file's `__metadata__`. Returns the names
 * written and the bytes of tensor data (a sharded index's weight_map and total_size).
 */
export async function writeSafetensorsFile(
  path: string, tensors: StoredTensor[], source: Record<string, string>,
  factors: FactorSource, out: string, sink: OutputSink, opts: WriteOptions,
): Promise<{ names: string[]; dataBytes: number }> {
  const byWeight = new Map([...factors.shapes.values()].map((f) => [f.layer.weight, f]));
  const biasOwner = new Map<string, FactorShape>();
  for (const f of factors.shapes.values()) if (f.layer.bias) biasOwner.set(f.layer.bias, f);
  const layers: Record<string, ReducedLayerMeta> = {};
  const entries: Entry[] = [];
  // Entries are written one after another, so one buffer holds the factors of the layer being
  // written (read back) and, after them, the transpose being written.
  const shapes = [...factors.shapes.values()];
  const factorsEnd = Math.max(0, ...shapes.map(factorParams));
  let space: Float32Array = new Float32Array(0);
  const loaded = (n: number): Float32Array => space.subarray(0, n);
  const scratch = (n: number): Float32Array => space.subarray(factorsEnd, factorsEnd + n);
  for (const t of tensors) {
    const f = byWeight.get(t.name);
    if (f) {
      const { meta, entry } = factorEntry(path, t, f, () => factors.load(f.layer.name, loaded(factorParams(f))), opts, scratch);
      layers[f.layer.name] = meta;
      entries.push(entry);
    } else {
      const owner = biasOwner.get(t.name);
      entries.push(!owner ? copyEntry(t, t.name) : owner.bias ? biasEntry(owner, t) : copyEntry(t, `${owner.layer.name}.1.bias`));
    }
  }
  // Re-reducing a reduced file keeps the earlier swaps first: load_reduced applies them in
  // order, so `p` becomes a Sequential before `p.0` inside it is swapped in turn.
  const earlier = source.reducible ? earlierLayers(path, source.reducible) : {};
  const metadata = { ...source, format: source.format ?? 'pt', reducible: JSON.stringify({ version: 1, layers: { ...earlier, ...layers } }) };
  // The format allows string values only (readers refuse anything else, read.ts), so a written file is always valid.
  for (const [key, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new Error(`safetensors writer: __metadata__ value of ${key} is not a string`);
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const heads = entries.flatMap((e) => e.heads);
  for (const e of heads) {
    if (e.name in header) throw new InputError(path, `cannot write ${e.name}: the model already has a tensor of that name`);
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes] };
    offset += e.bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Pad with spaces so the data starts 8-byte aligned (what the reference implementation does).
  const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
  padded.set(json);
  const file = await sink.file(out);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(padded.length), true);
  await file.write(len);
  await file.write(padded);
  await withReusedBuffer(factorsEnd + Math.max(0, ...shapes.map((f) => f.rank * Math.max(f.layer.matrix.rows, f.layer.matrix.cols))), async (buffer) => {
    space = buffer;
    for (const e of entries) await e.write(file);
  });
  return { names: heads.map((e) => e.name), dataBytes: offset };
}

function earlierLayers(path: string, json: string): Record<string, ReducedLayerMeta> {
  try {
    const layers = (JSON.parse(json) as { layers?: unknown }).layers;
    if (layers && typeof layers === 'object' && !Array.isArray(layers)) return layers as Record<string, ReducedLayerMeta>;
  } catch { /* reported below */ }
  throw new InputError(path, '__metadata__.reducible is not valid JSON with a layers object');
}

function copyEntry(t: StoredTensor, name: string): Entry {
  return {
    heads: [{ name, dtype: CODES[t.dtype], shape: t.shape, bytes: t.storedBytes }],
    async write(out) {
      for (let at = 0; at < t.storedBytes; at += COPY_CHUNK) {
        await out.write(await t.source.read(t.offset + at, Math.min(COPY_CHUNK, t.storedBytes - at)));
      }
    },
  };
}

/** A bias the job replaced (fine-tuning), stored at the bias's own float precision. */
function biasEntry(f: FactorShape, t: StoredTensor): Entry {
  const code = t.dtype === 'float16' ? 'F16' : t.dtype === 'bfloat16' ? 'BF16' : 'F32';
  return rawEntry(`${f.layer.name}.1.bias`, code, t.shape, encodeFloats(f.bias!, code));
}

/**
 * The module's factor tensors. Their data is read back (`load`) only when the entry's turn
 * comes, and let go after it: a writer holds one layer's factors at a time.
 */
function factorEntry(
  path: string, t: StoredTensor, f: FactorShape, load: () => Promise<Factorisation>, opts: WriteOptions, scratch: (n: number) => Float32Array,
): { meta: ReducedLayerMeta; entry: Entry } {
  const p = f.layer.name;
  if (t.name !== `${p}.weight`) throw new InputError(path, `cannot write ${t.name} as a module's factors: its name is not <module>.weight`);
  const { rows, cols } = f.layer.matrix;
  const k = f.rank;
  const code = factorCode(t.dtype, opts);
  // Factors in the layout the stock modules load, made when they are written, into the
  // scratch buffer.
  let meta: ReducedLayerMeta, first: [(f: Factorisation) => Float32Array, number[]], second: [(f: Factorisation) => Float32Array, number[]];
  const bT = (x: Factorisation): Float32Array => transpose(x.b, k, cols, scratch(x.b.length));
  if (f.layer.kind === 'embedding') {
    meta = { kind: 'embedding', rank: k, in: rows, out: cols, kernel: [], dtype: code };
    first = [(x) => x.a, [rows, k]];
    second = [bT, [cols, k]];
  } else if (f.layer.kind === 'linear' || /^conv[123]d$/.test(f.layer.kind)) {
    const [outCh, inCh, ...kernel] = t.shape;
    meta = { kind: kernel.length ? 'conv' : 'linear', rank: k, in: inCh, out: outCh, kernel, dtype: code };
    first = [(x) => transpose(x.a, rows, k, scratch(x.a.length)), [k, inCh, ...kernel]];
    second = [bT, [outCh, k, ...kernel.map(() => 1)]];
  } else {
    throw new InputError(path, `cannot write factors of a ${f.layer.kind} layer (${p}) as a state dict`);
  }
  const count = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
  if (code !== 'I8') {
    const head = (name: string, shape: number[]): Head => ({ name, dtype: code, shape, bytes: count(shape) * DTYPE_BYTES[SAFETENSORS_DTYPES[code]] });
    return {
      meta,
      entry: {
        heads: [head(`${p}.0.weight`, first[1]), head(`${p}.1.weight`, second[1])],
        async write(out) {
          const x = await load();
          await out.write(encodeFloats(first[0](x), code));
          await out.write(encodeFloats(second[0](x), code));
        },
      },
    };
  }
  meta.scales = true;
  const heads: Head[] = [
    { name: `${p}.0.weight`, dtype: 'I8', shape: first[1], bytes: count(first[1]) }, { name: `${p}.0.weight_scale`, dtype: 'F32', shape: [k], bytes: 4 * k },
    { name: `${p}.1.weight`, dtype: 'I8', shape: second[1], bytes: count(second[1]) }, { name: `${p}.1.weight_scale`, dtype: 'F32', shape: [k], bytes: 4 * k },
  ];
  return {
    meta,
    entry: {
      heads,
      async write(out) {
        const x = await load();
        // One scale per rank component: rows of p.0 (columns of an embedding's A), columns of p.1.
        for (const [q, s] of [quantizeInt8(first[0](x), meta.kind === 'embedding' ? 'columns' : 'rows', first[1][0], k), quantizeInt8(second[0](x), 'columns', second[1][0], k)]) {
          await out.write(q);
          await out.write(s);
        }
      },
    },
  };
}

/** Storage of the factors: as requested, else the source's precision (f64 sources get f32: the factors are f32). */
function factorCode(source: DType, opts: WriteOptions): FactorCode {
  if (opts.dtype) return ({ f32: 'F32', f16: 'F16', int8: 'I8' } as const)[opts.dtype];
  return source === 'float16' ? 'F16' : source === 'bfloat16' ? 'BF16' : 'F32';
}

function rawEntry(name: string, dtype: string, shape: number[], bytes: Uint8Array): Entry {
  return { heads: [{ name, dtype, shape, bytes: bytes.length }], write: (out) => out.write(bytes) };
}

function encodeFloats(v: Float32Array, code: Exclude<FactorCode, 'I8'>): Uint8Array {
  if (code === 'F32') return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (code === 'F16') return encodeFloat16(v).bytes;
  // bfloat16: the top half of the float32 bits, rounded to nearest even (NaN stays NaN).
  const bits = new Uint32Array(v.buffer, v.byteOffset, v.length);
  const out = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = bits[i];
    out[i] = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return new Uint8Array(out.buffer);
}

/**
 * Symmetric int8 with one scale per rank component (the factor's `axis` of length k):
 * A's columns and B's rows carry √σ_j, so one scale per component fits each to its range.
 */
function quantizeInt8(v: Float32Array, axis: 'rows' | 'columns', rows: number, k: number): [Uint8Array, Uint8Array] {
  const cols = v.length / rows;
  const comp = (i: number): number => (axis === 'rows' ? Math.floor(i / cols) : i % cols);
  const scale = new Float32Array(k);
  for (let i = 0; i < v.length; i++) scale[comp(i)] = Math.max(scale[comp(i)], Math.abs(v[i]) / 127);
  const q = new Int8Array(v.length);
  for (let i = 0; i < v.length; i++) { const s = scale[comp(i)]; q[i] = s > 0 ? Math.round(v[i] / s) : 0; }
  return [new Uint8Array(q.buffer), new Uint8Array(scale.buffer)];
}
