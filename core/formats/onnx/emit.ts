// New ONNX graph content for factors: initializers in the storage dtype and the standard
// nodes (Cast, DequantizeLinear) that turn them back into the graph's compute dtype.
import { DTYPE_BYTES, floatToHalf } from '../../io/decode.js';
import type { DType } from '../../types.js';
import { freshName } from '../freshName.js';
import { ATTR, NodeProto, TensorProto, ValueInfoProto, type AttributeMessage, type NodeMessage } from './schema.js';
import { ONNX_OF_DTYPE } from './tensors.js';

/**
 * A new initializer. Its raw data is made only when the writer reaches it, in the order the
 * initializers were added: a layer's factors are loaded then, one layer at a time.
 */
export interface NewTensor { name: string; dims: number[]; dtype: DType; rawBytes: number; raw(): Promise<Uint8Array> }

/** Names and initializers added to one graph; every new name is unused in it. */
export class GraphEdit {
  readonly initializers: NewTensor[] = [];
  constructor(private readonly names: Set<string>) {}

  fresh(base: string): string {
    return freshName(this.names, base);
  }

  initializer(base: string, dims: number[], dtype: DType, raw: () => Promise<Uint8Array>): string {
    const name = this.fresh(base);
    this.initializers.push({ name, dims, dtype, rawBytes: dims.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype], raw });
    return name;
  }
}

export const attr = {
  int: (name: string, i: number): AttributeMessage => ({ name, type: ATTR.INT, i }),
  ints: (name: string, ints: number[]): AttributeMessage => ({ name, type: ATTR.INTS, ints }),
};

export function node(opType: string, input: string[], output: string[], name: string, attribute: AttributeMessage[] = []): NodeMessage {
  return { opType, input, output, name, domain: '', attribute };
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Little-endian bytes of float values stored as a float dtype. */
export function encodeFloats(values: Float32Array, dtype: DType): Uint8Array {
  switch (dtype) {
    case 'float32': return bytesOf(values);
    case 'float64': return bytesOf(Float64Array.from(values));
    case 'float16': return bytesOf(Uint16Array.from(values, floatToHalf));
    case 'bfloat16': {
      const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
      // Round to nearest even on the 16 bits dropped.
      return bytesOf(Uint16Array.from(bits, (u) => (u + 0x7fff + ((u >>> 16) & 1)) >>> 16));
    }
    default: throw new Error(`cannot store factors as ${dtype}`);
  }
}

/** Symmetric per-tensor int8: v ≈ q·scale with q in [-127, 127] and zero point 0. */
export function quantizeInt8(values: Float32Array): { q: Int8Array; scale: number } {
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  const scale = max > 0 ? max / 127 : 1;
  return { q: Int8Array.from(values, (v) => Math.max(-127, Math.min(127, Math.round(v / scale)))), scale };
}

/**
 * Adds a factor stored as `storage` and returns the value name that carries it in the graph's
 * `compute` dtype, plus the nodes that convert it (none when the two agree).
 */
export function factorInput(edit: GraphEdit, base: string, values: () => Promise<Float32Array>, dims: number[], compute: DType, storage: DType): { name: string; nodes: NodeMessage[] } {
  const nodes: NodeMessage[] = [];
  let name: string, dtype: DType;
  if (storage === 'int8') {
    // The scale is found while quantising the values, which are written first.
    let scale: number | undefined;
    const stored = edit.initializer(base, dims, 'int8', async () => { const r = quantizeInt8(await values()); scale = r.scale; return bytesOf(r.q); });
    const s = edit.initializer(`${base}_scale`, [], 'float32', async () => bytesOf(Float32Array.of(scale ?? quantizeInt8(await values()).scale)));
    const z = edit.initializer(`${base}_zero_point`, [], 'int8', async () => new Uint8Array(1));
    name = edit.fresh(`${base}_dequantized`);
    dtype = 'float32';
    nodes.push(node('DequantizeLinear', [stored, s, z], [name], name));
  } else {
    name = edit.initializer(base, dims, storage, async () => encodeFloats(await values(), storage));
    dtype = storage;
  }
  if (dtype !== compute) {
    const cast = edit.fresh(`${base}_${compute}`);
    nodes.push(node('Cast', [name], [cast], cast, [attr.int('to', ONNX_OF_DTYPE[compute]!)]));
    name = cast;
  }
  return { name, nodes };
}

export const encodeNode = (n: NodeMessage): Uint8Array => NodeProto.encode(NodeProto.create(n)).finish();

/**
 * The TensorProto of `t` less its raw_data, which the writer appends as a field of its own
 * (field order is free in protobuf): the factor's bytes go to the file as they are, never
 * copied into one message with the rest.
 */
export const encodeTensorHead = (t: NewTensor): Uint8Array =>
  TensorProto.encode(TensorProto.create({ name: t.name, dims: t.dims, dataType: ONNX_OF_DTYPE[t.dtype] })).finish();

/** Graph input declaring an initializer, which IR versions before 4 require. */
export const encodeInputFor = (t: NewTensor): Uint8Array => ValueInfoProto.encode(ValueInfoProto.create({
  name: t.name, type: { tensorType: { elemType: ONNX_OF_DTYPE[t.dtype], shape: { dim: t.dims.map((d) => ({ dimValue: d })) } } },
})).finish();
