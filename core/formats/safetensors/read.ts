// safetensors: u64 header length, JSON header, raw little-endian tensors.
import { FileSource } from '../../io/byteSource.js';
import { DTYPE_BYTES, checkedSize } from '../../io/decode.js';
import type { DType, Layer, LayerKind } from '../../types.js';
import { InputError } from '../../types.js';
import { StoredModel, type MatrixLayout, type StoredTensor } from '../storedModel.js';

export const MAX_HEADER = 100 * 1024 * 1024;

export const SAFETENSORS_DTYPES: Record<string, DType> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16',
  I64: 'int64', I32: 'int32', I8: 'int8', U8: 'uint8', U16: 'uint16',
};

export interface SafetensorsHeaderEntry { dtype: string; shape: number[]; data_offsets: [number, number] }

export async function readSafetensors(path: string): Promise<StoredModel<{ metadata: Record<string, string> }>> {
  const src = await FileSource.open(path);
  try {
    const { tensors, metadata } = await parseSafetensors(src, path);
    return new StoredModel({
      format: 'safetensors', path, files: [path], fileBytes: src.size, tensors,
      layers: stateDictLayers(tensors), sources: [src], extra: { metadata },
    });
  } catch (e) {
    await src.close();
    throw e;
  }
}

/** The tensors (lazy, pointing into `src`) and `__metadata__` of one safetensors file; errors name `path`. */
export async function parseSafetensors(src: FileSource, path: string): Promise<{ tensors: StoredTensor[]; metadata: Record<string, string> }> {
  if (src.size < 8) throw new InputError(path, 'truncated: shorter than the 8-byte safetensors header length');
  const lenBytes = await src.read(0, 8);
  const headerLen = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
  if (headerLen > MAX_HEADER) throw new InputError(path, `header length ${headerLen} exceeds the 100 MB limit`);
  if (8 + headerLen > src.size) throw new InputError(path, `truncated: header length ${headerLen} runs past the end of the ${src.size}-byte file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await src.read(8, headerLen)));
  } catch (e) {
    throw new InputError(path, `header is not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new InputError(path, 'header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = src.size - dataStart;
  const tensors: StoredTensor[] = [];
  const ranges: [number, number, string][] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = v as SafetensorsHeaderEntry;
    // Only a string is a dtype: an object from the JSON can carry its own "toString" key, which String() and property lookups would call.
    const dtype = typeof e?.dtype === 'string' && Object.hasOwn(SAFETENSORS_DTYPES, e.dtype) ? SAFETENSORS_DTYPES[e.dtype] : undefined;
    if (!dtype) throw new InputError(path, `tensor ${name} has unsupported dtype ${typeof e?.dtype === 'string' ? e.dtype : JSON.stringify(e?.dtype ?? null).slice(0, 80)}`);
    const count = checkedSize(e.shape);
    if (count === undefined) throw new InputError(path, `tensor ${name} has an invalid shape`);
    const [begin, end] = Array.isArray(e.data_offsets) ? e.data_offsets : [NaN, NaN];
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin || end > dataLen) {
      throw new InputError(path, `tensor ${name} has data offsets outside the file`);
    }
    if (end - begin !== count * DTYPE_BYTES[dtype]) throw new InputError(path, `tensor ${name}: offsets span ${end - begin} bytes but shape and dtype need ${count * DTYPE_BYTES[dtype]}`);
    ranges.push([begin, end, name]);
    tensors.push({ name, shape: e.shape, dtype, storedBytes: end - begin, source: src, offset: dataStart + begin });
  }
  // The format (and its reference reader) requires the tensors to tile the data region exactly:
  // no overlap, no gap, nothing after the last tensor. Bytes no tensor owns are refused rather
  // than carried along unseen.
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let covered = 0;
  for (let i = 0; i < ranges.length; i++) {
    const [begin, end, name] = ranges[i];
    if (begin < covered) throw new InputError(path, `tensors ${ranges[i - 1][2]} and ${name} overlap`);
    if (begin > covered) {
      throw new InputError(path, `data region has a gap: file bytes ${dataStart + covered}..${dataStart + begin} before tensor ${name} belong to no tensor (the format forbids gaps)`);
    }
    covered = end;
  }
  if (covered !== dataLen) {
    throw new InputError(path, `${dataLen - covered} trailing bytes at file offsets ${dataStart + covered}..${src.size} after the last tensor (the format forbids them)`);
  }
  return { tensors, metadata: stringMetadata(header.__metadata__, path) };
}

/** `__metadata__` is a map of strings to strings (the format's rule); anything else is refused, naming the key. */
function stringMetadata(value: unknown, path: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new InputError(path, '__metadata__ is not an object of strings');
  const metadata: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new InputError(path, `__metadata__ value of ${JSON.stringify(key)} is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`}, not a string (the format allows strings only)`);
    // Defined, not assigned: a key named __proto__ stays an ordinary entry.
    Object.defineProperty(metadata, key, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return metadata;
}

/**
 * Layers of a PyTorch-style state dict: `p.weight` of rank 2 is a Linear (or Embedding when
 * the name says so), rank 3–5 a Conv. PyTorch stores Linear [out,in] and Conv
 * [out,in,k…]; the matrix view is in·k… × out, the transpose of the stored layout.
 */
export function stateDictLayers(tensors: StoredTensor[]): (Layer & MatrixLayout)[] {
  const names = new Set(tensors.map((t) => t.name));
  const layers: (Layer & MatrixLayout)[] = [];
  for (const t of tensors) {
    if (!t.name.endsWith('weight') || t.shape.length < 2 || t.shape.length > 5) continue;
    if (!t.dtype.startsWith('float') && t.dtype !== 'bfloat16') continue;
    const prefix = t.name.slice(0, -'weight'.length).replace(/[._]$/, '');
    const embedding = t.shape.length === 2 && /emb|wte|wpe/i.test(prefix);
    const kind: LayerKind = t.shape.length === 2 ? (embedding ? 'embedding' : 'linear') : (['conv1d', 'conv2d', 'conv3d'] as const)[t.shape.length - 3];
    const out = t.shape[0];
    const inner = t.shape.slice(1).reduce((a, b) => a * b, 1);
    const biasName = t.name.slice(0, -'weight'.length) + 'bias';
    layers.push({
      name: prefix || t.name, kind, shape: t.shape,
      // Embedding [vocab, dim] is used as a lookup table, not transposed.
      matrix: embedding ? { rows: out, cols: inner } : { rows: inner, cols: out },
      params: out * inner, dtype: t.dtype, weight: t.name,
      bias: names.has(biasName) ? biasName : undefined,
      transposed: !embedding, factorisable: true,
    });
  }
  return layers;
}
