// Seed models for the fuzzer: the repo's real fixtures (made by the fixture scripts into a
// temporary folder), each with the offsets of its length / size / dimension fields so
// mutations can inflate exactly those, and a codec for its JSON part where it has one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeFixtures, tempDir } from '../../helpers/cli.js';
import { lowRankMlp, smallCnn } from '../../fixtures/tfjsModels.js';
import { graphCnn } from '../../fixtures/tfjsGraphModels.js';
import { openModel } from '../../../core/formats/open.js';
import { JSON_CODECS, safetensorsFile, utf8, type JsonCodecName } from './codecs.js';

export type FuzzFormat = 'safetensors' | 'onnx' | 'pytorch' | 'keras-h5' | 'keras' | 'tfjs';
export const FORMATS: FuzzFormat[] = ['safetensors', 'onnx', 'pytorch', 'keras-h5', 'keras', 'tfjs'];

/** An integer field: little-endian of `width` bytes, or a protobuf varint spanning `width` bytes. */
export interface Field { offset: number; width: number; kind: 'le' | 'varint' }

/** Plain data (it crosses to the fuzz worker): the codec is named, not a function. */
export interface SeedFile { name: string; bytes: Uint8Array; fields: Field[]; json?: JsonCodecName }
/** files[0] is the model file that is opened; the others sit beside it (shards, external data). */
export interface Seed { id: string; format: FuzzFormat; files: SeedFile[] }

/** A real safetensors fixture cut down to a few tensors, so each fuzz input stays small. */
function safetensorsSubset(bytes: Uint8Array, keep: string[]): Uint8Array {
  const header = JSON_CODECS['safetensors-header'].get(bytes) as Record<string, { data_offsets: [number, number] }>;
  const start = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const out: Record<string, unknown> = { __metadata__: header.__metadata__ };
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const name of keep) {
    const [b, e] = header[name].data_offsets;
    out[name] = { ...header[name], data_offsets: [at, at + e - b] };
    parts.push(bytes.subarray(start + b, start + e));
    at += e - b;
  }
  const data = new Uint8Array(at);
  parts.reduce((o, p) => { data.set(p, o); return o + p.length; }, 0);
  return safetensorsFile(utf8.encode(JSON.stringify(out)), data);
}

/** Size, offset, count and name-length fields of every zip record (local, central, end, ZIP64). */
export function zipFields(b: Uint8Array): Field[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Field[] = [];
  const le = (offset: number, width: number): void => { if (offset + width <= b.length) out.push({ offset, width, kind: 'le' }); };
  for (let i = 0; i + 4 <= b.length; i++) {
    const sig = dv.getUint32(i, true);
    if (sig === 0x04034b50) { le(i + 18, 4); le(i + 22, 4); le(i + 26, 2); le(i + 28, 2); }
    else if (sig === 0x02014b50) { le(i + 20, 4); le(i + 24, 4); le(i + 28, 2); le(i + 30, 2); le(i + 32, 2); le(i + 42, 4); }
    else if (sig === 0x06054b50) { le(i + 8, 2); le(i + 10, 2); le(i + 12, 4); le(i + 16, 4); le(i + 20, 2); }
    else if (sig === 0x06064b50) { le(i + 24, 8); le(i + 32, 8); le(i + 40, 8); le(i + 48, 8); }
    else if (sig === 0x07064b50) le(i + 8, 8);
  }
  return out;
}

/** Every varint (lengths of nested messages, dims, enum values) of a protobuf message, recursively. */
export function protobufFields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  const readVarint = (at: number, end: number): [bigint, number] | undefined => {
    let v = 0n;
    for (let i = 0; i < 10 && at + i < end; i++) {
      v |= BigInt(b[at + i] & 0x7f) << BigInt(7 * i);
      if (!(b[at + i] & 0x80)) return [v, i + 1];
    }
    return undefined;
  };
  /** Walks [start,end) as a message; returns false (and records nothing) if it is not one. */
  const walk = (start: number, end: number, depth: number): boolean => {
    const found: Field[] = [];
    const nested: [number, number][] = [];
    let at = start;
    while (at < end) {
      const tag = readVarint(at, end);
      if (!tag || tag[0] >> 3n === 0n) return false;
      at += tag[1];
      const wire = Number(tag[0] & 7n);
      if (wire === 0 || wire === 2) {
        const v = readVarint(at, end);
        if (!v) return false;
        found.push({ offset: at, width: v[1], kind: 'varint' });
        at += v[1];
        if (wire === 2) {
          if (at + Number(v[0]) > end) return false;
          nested.push([at, at + Number(v[0])]);
          at += Number(v[0]);
        }
      } else if (wire === 1) at += 8;
      else if (wire === 5) at += 4;
      else return false;
    }
    if (at !== end) return false;
    out.push(...found);
    if (depth < 8) for (const [s, e] of nested) walk(s, e, depth + 1);
    return true;
  };
  walk(0, b.length, 0);
  return out;
}

/** HDF5 dataspace dimensions: the u64 little-endian runs that spell a dataset's shape. */
function hdf5DimFields(b: Uint8Array, shapes: number[][]): Field[] {
  const out: Field[] = [];
  for (const shape of shapes) {
    const pattern = new Uint8Array(shape.length * 8);
    const dv = new DataView(pattern.buffer);
    shape.forEach((d, i) => dv.setBigUint64(i * 8, BigInt(d), true));
    for (let at = Buffer.from(b.buffer, b.byteOffset, b.length).indexOf(pattern); at >= 0; at = Buffer.from(b.buffer, b.byteOffset, b.length).indexOf(pattern, at + 1)) {
      shape.forEach((_, i) => out.push({ offset: at + i * 8, width: 8, kind: 'le' }));
    }
  }
  return out;
}

async function shapesOf(path: string): Promise<number[][]> {
  const m = await openModel(path);
  try { return m.tensors.map((t) => t.shape); } finally { await m.close(); }
}

/** Generates the fixtures and returns the seeds of the formats asked for. */
export async function makeSeeds(formats: FuzzFormat[] = FORMATS): Promise<Seed[]> {
  const seeds: Seed[] = [];
  const read = (dir: string, name: string): Uint8Array => new Uint8Array(readFileSync(join(dir, name)));
  if (formats.includes('safetensors')) {
    const dir = makeFixtures('test/fixtures/make_safetensors.py');
    const one = (id: string, bytes: Uint8Array): Seed => ({ id, format: 'safetensors', files: [{ name: 'model.safetensors', bytes, fields: [{ offset: 0, width: 8, kind: 'le' }], json: 'safetensors-header' }] });
    seeds.push(one('mlp-float16', safetensorsSubset(read(dir, 'mlp-float16.safetensors'), ['head.weight', 'fc2.bias', 'conv.weight'])));
    seeds.push(one('mlp-bfloat16', safetensorsSubset(read(dir, 'mlp-bfloat16.safetensors'), ['head.weight'])));
    seeds.push(one('mlp-float64', safetensorsSubset(read(dir, 'mlp-float64.safetensors'), ['fc2.bias', 'head.weight'])));
  }
  if (formats.includes('onnx')) {
    const dir = makeFixtures('test/fixtures/make_onnx.py');
    const one = (name: string): SeedFile => ({ name: 'model.onnx', bytes: read(dir, name), fields: protobufFields(read(dir, name)) });
    for (const name of ['mlp.onnx', 'gemm.onnx', 'constant.onnx', 'mlp-f16.onnx', 'gemm-transa.onnx', 'mlp-ir3.onnx']) seeds.push({ id: name, format: 'onnx', files: [one(name)] });
    // The external-data location inside names the data file, so both keep their names.
    seeds.push({ id: 'external.onnx', format: 'onnx', files: [{ ...one('external.onnx'), name: 'external.onnx' }, { name: 'external.onnx.data', bytes: read(dir, 'external.onnx.data'), fields: [] }] });
  }
  if (formats.includes('pytorch')) {
    const dir = makeFixtures('test/fixtures/make_pytorch.py');
    for (const name of ['mlp.pt', 'views.pt', 'noncontig.pt', 'mlp-bf16.pt', 'tagger.bin', 'deflated.pt', 'zip64.pt', 'nested.pt', 'evil.pt']) {
      seeds.push({ id: name, format: 'pytorch', files: [{ name: name.endsWith('.bin') ? 'model.bin' : 'model.pt', bytes: read(dir, name), fields: zipFields(read(dir, name)) }] });
    }
  }
  if (formats.includes('keras-h5') || formats.includes('keras')) {
    const dir = makeFixtures('test/fixtures/make_keras.py');
    const h5 = async (name: string): Promise<SeedFile> => ({ name: 'model.h5', bytes: read(dir, name), fields: hdf5DimFields(read(dir, name), await shapesOf(join(dir, name))) });
    if (formats.includes('keras-h5')) for (const name of ['mlp.h5', 'functional.h5']) seeds.push({ id: name, format: 'keras-h5', files: [await h5(name)] });
    if (formats.includes('keras')) {
      for (const name of ['mlp.keras', 'functional.keras']) {
        const bytes = read(dir, name);
        seeds.push({ id: name, format: 'keras', files: [{ name: 'model.keras', bytes, fields: [...zipFields(bytes), ...hdf5DimFields(bytes, await shapesOf(join(dir, name)))], json: 'keras-config' }] });
      }
    }
  }
  if (formats.includes('tfjs')) {
    for (const [id, make] of [['low-rank-mlp', (d: string) => lowRankMlp(d, 4)], ['small-cnn', smallCnn]] as const) {
      const dir = tempDir();
      await make(dir);
      seeds.push({ id, format: 'tfjs', files: [
        { name: 'model.json', bytes: read(dir, 'model.json'), fields: [], json: 'whole-file' },
        { name: 'model.weights.bin', bytes: read(dir, 'model.weights.bin'), fields: [] },
      ] });
    }
    const dir = tempDir();
    graphCnn(dir);
    seeds.push({ id: 'graph-cnn', format: 'tfjs', files: [
      { name: 'model.json', bytes: read(dir, 'model.json'), fields: [], json: 'whole-file' },
      { name: 'group1-shard1of1.bin', bytes: read(dir, 'group1-shard1of1.bin'), fields: [] },
    ] });
  }
  return seeds;
}
