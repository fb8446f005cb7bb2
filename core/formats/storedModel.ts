// Shared Model implementation for readers whose tensors sit at known byte ranges.
import type { ByteSource } from '../io/byteSource.js';
import type { TakeBuffer } from '../io/layerBuffers.js';
import { decodeToFloat32, DTYPE_BYTES, transpose } from '../io/decode.js';
import type { DType, FileDType, Layer, MatrixInFile, Model, ModelFormat, RangeInFile, StoredMatrix, TensorRef } from '../types.js';
import { InputError } from '../types.js';

/**
 * Bytes read and decoded at a time: a big tensor's stored bytes never sit in memory whole
 * beside its floats (a 64 MiB layer would otherwise cost 128 MiB while it is read).
 */
const READ_CHUNK = 8 * 2 ** 20;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const FILE_DTYPES: Record<FileDType, true> = { float32: true, float64: true, float16: true, bfloat16: true };

export interface StoredTensor extends TensorRef {
  source: ByteSource;
  offset: number;
  /** TF.js manifest quantization: stored ints → v·scale + min (float16 needs none). */
  affine?: { scale: number; min: number };
}

/** How a layer's matrix view maps onto its stored tensor. */
export interface MatrixLayout {
  /** The matrix is the transpose of the stored tensor reshaped to cols×rows. */
  transposed: boolean;
}

export interface StoredModelInit<X = undefined> {
  format: ModelFormat;
  path: string;
  files: string[];
  fileBytes: number;
  tensors: StoredTensor[];
  layers: (Layer & MatrixLayout)[];
  sources: ByteSource[];
  /** Parameters of tensors the file repeats byte for byte, left out of `tensors` (read and written once). */
  shared?: number;
  /** What the format's writer and runner need beyond the tensors (topology JSON, ONNX graph, …): each format names its own type. */
  extra: X;
}

/** `X`: the format's own extras (each format module defines its model type as StoredModel<its extras>). */
export class StoredModel<X = undefined> implements Model {
  readonly format: ModelFormat;
  readonly path: string;
  readonly files: string[];
  readonly fileBytes: number;
  readonly totalParams: number;
  readonly sharedParams: number;
  readonly layers: (Layer & MatrixLayout)[];
  readonly tensors: StoredTensor[];
  readonly extra: X;
  private readonly byName = new Map<string, StoredTensor>();
  private readonly sources: ByteSource[];

  constructor(init: StoredModelInit<X>) {
    this.format = init.format;
    this.path = init.path;
    this.files = init.files;
    this.fileBytes = init.fileBytes;
    this.tensors = init.tensors;
    this.layers = init.layers;
    this.sources = init.sources;
    this.extra = init.extra;
    for (const t of init.tensors) this.byName.set(t.name, t);
    this.sharedParams = init.shared ?? 0;
    this.totalParams = init.tensors.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0) + this.sharedParams;
  }

  tensor(name: string): StoredTensor {
    const t = this.byName.get(name);
    if (!t) throw new InputError(this.path, `no tensor named ${name}`);
    return t;
  }

  /** The tensor's values as f32, in an array from `alloc` when given (called once the tensor has been checked). */
  async readTensor(name: string, alloc?: TakeBuffer): Promise<Float32Array> {
    const t = this.tensor(name);
    const width = DTYPE_BYTES[t.dtype];
    if (t.storedBytes <= READ_CHUNK) {
      const decoded = decodeToFloat32(await t.source.read(t.offset, t.storedBytes), t.dtype);
      if (!alloc) return this.affine(t, decoded);
      const values = alloc(decoded.length);
      values.set(decoded);
      return this.affine(t, values);
    }
    // Checked before allocating: a hostile header must not make us reserve what the file cannot hold.
    if (t.offset + t.storedBytes > t.source.size) {
      throw new InputError(this.path, `truncated or corrupt: tensor ${name} needs bytes ${t.offset}..${t.offset + t.storedBytes} of ${t.source.size}`);
    }
    const alloc32 = (): Float32Array => (alloc ? alloc(t.storedBytes / width) : new Float32Array(t.storedBytes / width));
    // Little-endian float32 (nearly every checkpoint) from a file goes straight into the floats.
    if (t.dtype === 'float32' && LITTLE_ENDIAN && t.source.readInto) {
      const values = alloc32();
      await t.source.readInto(t.offset, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      return this.affine(t, values);
    }
    // Allocated once the first chunk is read: a source that can refuse the tensor (the HDF5
    // worker, on an absurd dataset) says why instead of a failed allocation.
    let values: Float32Array | undefined;
    for await (const chunk of this.chunks(t)) {
      values ??= alloc32();
      values.set(chunk.values, chunk.at);
    }
    return this.affine(t, values!);
  }

  /**
   * A tensor's stored values, READ_CHUNK bytes at a time, decoded but not dequantized, with the
   * index of each chunk's first value. READ_CHUNK is a multiple of every element width, so no
   * element straddles two reads.
   */
  private async *chunks(t: StoredTensor): AsyncGenerator<{ at: number; values: Float32Array }> {
    const width = DTYPE_BYTES[t.dtype];
    for (let at = 0; at < t.storedBytes; at += READ_CHUNK) {
      const raw = await t.source.read(t.offset + at, Math.min(READ_CHUNK, t.storedBytes - at));
      // Little-endian float32 (nearly every checkpoint) is used as it is: no decoded copy.
      const direct = t.dtype === 'float32' && LITTLE_ENDIAN && raw.byteOffset % 4 === 0;
      yield { at: at / width, values: direct ? new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4) : decodeToFloat32(raw, t.dtype) };
    }
  }

  /**
   * Refuses a NaN in any tensor, naming the file and the tensor. For jobs that run the model
   * (whitening, sensitivity, the guard, fine-tuning), where every tensor is computed with: a
   * NaN in a norm's scale or in a bias no layer owns made the moments or the outputs NaN, and
   * the job failed far from the cause ("calibration statistics are not positive definite") or
   * wrote a model scored "output error NaN". ±Infinity is let through here (layers' own
   * tensors are stricter, checkFinite): an ONNX mask or a Clip bound may hold it on purpose.
   * A chunk at a time, so the scan costs no array of a tensor's size.
   */
  async checkNoNaN(): Promise<void> {
    for (const t of this.tensors) {
      for await (const chunk of this.chunks(t)) {
        const i = this.affine(t, chunk.values).findIndex(Number.isNaN);
        if (i >= 0) throw this.notFinite(t.name, NaN, chunk.at + i, this.layers.find((l) => l.weight === t.name || l.bias === t.name));
      }
    }
  }

  /** TF.js manifest quantization, applied in place. */
  private affine(t: StoredTensor, values: Float32Array): Float32Array {
    if (t.affine) for (let i = 0; i < values.length; i++) values[i] = values[i] * t.affine.scale + t.affine.min;
    return values;
  }

  matrixFile(layer: Layer): MatrixInFile | undefined {
    const l = this.layers.find((x) => x.name === layer.name);
    const weight = l && this.rangeInFile(l.weight);
    if (!l || !weight) return undefined;
    const { rows, cols } = l.matrix;
    const hasBias = l.bias !== undefined && this.byName.has(l.bias);
    const bias = hasBias ? this.rangeInFile(l.bias!) : undefined;
    if (hasBias && !bias) return undefined;
    return {
      ...weight, ...(l.transposed ? { rows: cols, cols: rows } : { rows, cols }), transposed: l.transposed,
      model: this.path, tensor: l.weight, layer: l.name, ...(bias ? { bias: { ...bias, tensor: l.bias! } } : {}),
    };
  }

  /** A tensor stored raw (little-endian, as every format here stores it) in one regular file, in a type a file-reading engine decodes. */
  private rangeInFile(name: string): RangeInFile | undefined {
    const t = this.byName.get(name);
    if (!t || t.affine || !(t.dtype in FILE_DTYPES)) return undefined;
    const at = t.source.fileAt?.(t.offset, t.storedBytes);
    const length = t.storedBytes / DTYPE_BYTES[t.dtype];
    return at && Number.isInteger(length) ? { ...at, dtype: t.dtype as FileDType, length } : undefined;
  }

  async readMatrix(layer: Layer): Promise<Float32Array> {
    const m = await this.readStoredMatrix(layer);
    return m.transposed ? transpose(m.data, m.rows, m.cols) : m.data;
  }

  async readStoredMatrix(layer: Layer, alloc?: TakeBuffer): Promise<StoredMatrix> {
    const l = this.layers.find((x) => x.name === layer.name) ?? (layer as Layer & MatrixLayout);
    const { rows, cols } = l.matrix;
    const data = await this.readTensor(l.weight, alloc);
    this.checkFinite(l, l.weight, data);
    // The bias is small and shifts every output of the layer: a NaN there is as bad as in the weight.
    if (l.bias && this.byName.has(l.bias)) this.checkFinite(l, l.bias, await this.readTensor(l.bias));
    return l.transposed ? { data, rows: cols, cols: rows, transposed: true } : { data, rows, cols, transposed: false };
  }

  /**
   * Every matrix analysed, factorised or evaluated is read here: a NaN or ±Infinity stored in
   * it or its bias (or made by a quantization's affine map) is bad input, refused naming the
   * file and the tensor, instead of an engine failing on it later ("eigenvalue iteration did not
   * converge"). Tensors of no layer are not scanned: an ONNX constant may hold −Infinity on
   * purpose (a mask).
   */
  private checkFinite(layer: Layer, name: string, data: Float32Array): void {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      // v − v is 0 for every finite v and NaN for NaN and ±Infinity.
      if (v - v !== 0) throw this.notFinite(name, v, i, layer);
    }
  }

  /** The one refusal of a non-finite value, with the layer the tensor belongs to where it has one. */
  private notFinite(tensor: string, v: number, i: number, layer?: Layer): InputError {
    return new InputError(this.path, `tensor ${tensor}${layer ? ` (layer ${layer.name})` : ''} holds ${v} at element ${i}: weights must be finite`);
  }

  async close(): Promise<void> { await Promise.all(this.sources.map((s) => s.close())); }
}

export type { DType };
