// ONNX TensorProto → StoredTensor: raw_data (kept as a byte range of the model file),
// the typed number lists (float_data, int32_data for 16-bit floats, …) and external data
// files, which must lie inside the model's folder.
import { FileSource, MemorySource, type ByteSource } from '../../io/byteSource.js';
import { DTYPE_BYTES, checkedSize } from '../../io/decode.js';
import { openInside } from '../../io/insideFolder.js';
import type { DType } from '../../types.js';
import { InputError } from '../../types.js';
import { ONNX_DTYPE, int64, type TensorMessage } from './schema.js';
import type { StoredTensor } from '../storedModel.js';

export const DTYPE_OF_ONNX: Record<number, DType> = {
  [ONNX_DTYPE.FLOAT]: 'float32', [ONNX_DTYPE.UINT8]: 'uint8', [ONNX_DTYPE.INT8]: 'int8', [ONNX_DTYPE.UINT16]: 'uint16',
  [ONNX_DTYPE.INT32]: 'int32', [ONNX_DTYPE.INT64]: 'int64', [ONNX_DTYPE.BOOL]: 'uint8', [ONNX_DTYPE.FLOAT16]: 'float16',
  [ONNX_DTYPE.DOUBLE]: 'float64', [ONNX_DTYPE.BFLOAT16]: 'bfloat16',
};
export const ONNX_OF_DTYPE: Partial<Record<DType, number>> = {
  float32: ONNX_DTYPE.FLOAT, float16: ONNX_DTYPE.FLOAT16, bfloat16: ONNX_DTYPE.BFLOAT16, float64: ONNX_DTYPE.DOUBLE, int8: ONNX_DTYPE.INT8, int64: ONNX_DTYPE.INT64,
};

const EXTERNAL = 1;

/** Opens external data files once each, refusing paths that leave the model's folder. */
export class ExternalFiles {
  readonly opened = new Map<string, FileSource>();
  /** By the location as tensors name it: many tensors share one file, resolved once. */
  private readonly byLocation = new Map<string, FileSource>();
  constructor(private readonly modelPath: string, private readonly dir: string) {}

  async open(location: string): Promise<FileSource> {
    const known = this.byLocation.get(location);
    if (known) return known;
    const src = await openInside(this.modelPath, this.dir, location, 'external data', this.opened);
    this.byLocation.set(location, src);
    return src;
  }
}

export interface OnnxTensor extends StoredTensor { external: boolean }

/**
 * Locates a tensor's bytes. `raw`: where its raw_data sits in the model file, if it has any
 * (the reader leaves big ones on disk, so msg.rawData is not looked at). Returns undefined
 * for element types the engine does not read (strings, complex, …): they are carried through
 * untouched.
 */
/** Where a tensor's raw_data sits in its file. */
export type RawAt = { offset: number; length: number };

export async function onnxTensor(msg: TensorMessage, name: string, raw: RawAt | undefined, modelSource: ByteSource,
  external: ExternalFiles, path: string): Promise<OnnxTensor | undefined> {
  const dtype = DTYPE_OF_ONNX[msg.dataType];
  if (!dtype) return undefined;
  const shape = msg.dims.map(int64);
  const count = checkedSize(shape);
  if (count === undefined) throw new InputError(path, `tensor ${name} has an invalid shape [${shape.join(', ')}]`);
  const storedBytes = count * DTYPE_BYTES[dtype];
  const base = { name, shape, dtype, storedBytes };
  if (msg.dataLocation === EXTERNAL) {
    const entry = (key: string): string | undefined => msg.externalData.find((e) => e.key === key)?.value;
    const location = entry('location');
    if (!location) throw new InputError(path, `tensor ${name} is external but names no location`);
    const source = await external.open(location);
    const offset = Number(entry('offset') ?? 0), length = Number(entry('length') ?? storedBytes);
    if (!Number.isSafeInteger(offset) || offset < 0 || length !== storedBytes || offset + length > source.size) {
      throw new InputError(path, `tensor ${name}: external data ${location} bytes ${offset}+${length} do not hold the ${storedBytes} bytes its shape needs within the ${source.size}-byte file`);
    }
    return { ...base, source, offset, external: true };
  }
  if (raw && raw.length > 0) {
    if (raw.length !== storedBytes) throw new InputError(path, `tensor ${name}: raw_data holds ${raw.length} bytes but shape and dtype need ${storedBytes}`);
    return { ...base, source: modelSource, offset: raw.offset, external: false };
  }
  const bytes = typedData(msg, dtype);
  if (bytes.byteLength !== storedBytes) throw new InputError(path, `tensor ${name}: holds ${bytes.byteLength / DTYPE_BYTES[dtype]} values but its shape needs ${count}`);
  return { ...base, source: new MemorySource(bytes), offset: 0, external: false };
}

/** Little-endian bytes of the values kept in the message's typed lists. */
function typedData(msg: TensorMessage, dtype: DType): Uint8Array {
  const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const ints = msg.int32Data ?? [];
  switch (dtype) {
    case 'float32': return bytes(Float32Array.from(msg.floatData ?? []));
    case 'float64': return bytes(Float64Array.from(msg.doubleData ?? []));
    // 16-bit floats and small ints travel as int32_data, one value (bit pattern) each.
    case 'float16': case 'bfloat16': case 'uint16': return bytes(Uint16Array.from(ints, (v) => v & 0xffff));
    case 'int8': return bytes(Int8Array.from(ints));
    case 'uint8': return bytes(Uint8Array.from(ints));
    case 'int32': return bytes(Int32Array.from(ints));
    case 'int64': return bytes(BigInt64Array.from(msg.int64Data ?? [], (v) => BigInt(int64(v))));
  }
}
