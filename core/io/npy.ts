// .npy / .npz arrays (the evaluation inputs and labels users already have from numpy).
import { unzipSync, zipSync } from 'fflate';
import { InputError } from '../types.js';
import { readRegularFile } from './byteSource.js';

export type NpyDType = 'float32' | 'float64' | 'uint8' | 'int32' | 'int64' | 'float16';
export interface NdArray { dtype: NpyDType; shape: number[]; data: Float32Array | Float64Array | Uint8Array | Int32Array | BigInt64Array | Uint16Array }

const DESCR: Record<string, NpyDType> = { '<f4': 'float32', '<f8': 'float64', '|u1': 'uint8', '<i4': 'int32', '<i8': 'int64', '<f2': 'float16' };

export function parseNpy(bytes: Uint8Array, file: string): NdArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw new InputError(file, 'not a .npy file (bad magic)');
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major >= 2 ? dv.getUint32(8, true) : dv.getUint16(8, true);
  const start = (major >= 2 ? 12 : 10) + headerLen;
  if (start > bytes.length) throw new InputError(file, 'truncated .npy header');
  const header = new TextDecoder().decode(bytes.subarray(major >= 2 ? 12 : 10, start));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new InputError(file, 'malformed .npy header');
  if (fortran) throw new InputError(file, 'Fortran-ordered arrays are not supported; save with np.ascontiguousarray');
  const dtype = DESCR[descr];
  if (!dtype) throw new InputError(file, `unsupported .npy dtype ${descr} (use float32, float64, uint8, int32 or int64)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const width = { float32: 4, float64: 8, uint8: 1, int32: 4, int64: 8, float16: 2 }[dtype];
  if (start + count * width > bytes.length) throw new InputError(file, `truncated .npy data: shape ${shape.join('×')} needs ${count * width} bytes`);
  // Copy: a Buffer's slice() is a view into a shared pool, not its own ArrayBuffer.
  const buf = Uint8Array.prototype.slice.call(bytes, start, start + count * width).buffer;
  const data = dtype === 'float32' ? new Float32Array(buf) : dtype === 'float64' ? new Float64Array(buf)
    : dtype === 'uint8' ? new Uint8Array(buf) : dtype === 'int32' ? new Int32Array(buf)
    : dtype === 'int64' ? new BigInt64Array(buf) : new Uint16Array(buf);
  return { dtype, shape, data };
}

export function encodeNpy(a: NdArray): Uint8Array {
  const descr = Object.entries(DESCR).find(([, v]) => v === a.dtype)![0];
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${a.shape.join(', ')}${a.shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = new Uint8Array(10 + header.length);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(head.buffer).setUint16(8, header.length, true);
  head.set(new TextEncoder().encode(header), 10);
  const body = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const out = new Uint8Array(head.length + body.length);
  out.set(head); out.set(body, head.length);
  return out;
}

/** Reads a .npy file, or one array of a .npz (`file.npz` takes its first array, `file.npz:key` a named one). */
export async function readArray(spec: string): Promise<NdArray> {
  const m = /^(.*\.npz)(?::(.+))?$/.exec(spec);
  const file = m ? m[1] : spec;
  let bytes: Uint8Array;
  try { bytes = await readRegularFile(file); } catch (e) { throw new InputError(file, `cannot read array file (${(e as Error).message.replace(`${file}: `, '')})`); }
  if (!m) return parseNpy(bytes, file);
  let entries: Record<string, Uint8Array>;
  try { entries = unzipSync(bytes); } catch (e) { throw new InputError(file, `not a valid .npz archive (${(e as Error).message})`); }
  const names = Object.keys(entries).filter((n) => n.endsWith('.npy'));
  const key = m[2] ? `${m[2]}.npy` : names[0];
  if (!key || !entries[key]) throw new InputError(file, `no array ${m[2] ?? ''} in archive (has ${names.map((n) => n.slice(0, -4)).join(', ')})`);
  return parseNpy(entries[key], `${file}:${key.slice(0, -4)}`);
}

export function encodeNpz(arrays: Record<string, NdArray>): Uint8Array {
  const files: Record<string, [Uint8Array, { level: 9 }]> = {};
  for (const [k, v] of Object.entries(arrays)) files[`${k}.npy`] = [encodeNpy(v), { level: 9 }];
  return zipSync(files);
}

/** Converts any numeric array to float32 values. */
export function toFloat32(a: NdArray): Float32Array {
  if (a.data instanceof Float32Array) return a.data;
  const out = new Float32Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(a.data[i]);
  return out;
}
