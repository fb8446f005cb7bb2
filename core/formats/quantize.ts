// Encoding float32 factors in a storage precision each format can load natively.
import { floatToHalf } from '../io/decode.js';

export interface Encoded { bytes: Uint8Array; dtype: 'float32' | 'float16' | 'uint8'; scale?: number; min?: number }

export function encodeFloat32(v: Float32Array): Encoded {
  return { bytes: new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)), dtype: 'float32' };
}

export function encodeFloat16(v: Float32Array): Encoded {
  const out = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = floatToHalf(v[i]);
  return { bytes: new Uint8Array(out.buffer), dtype: 'float16' };
}

/** Per-tensor affine uint8: value ≈ q·scale + min (TF.js manifest `quantization`). */
export function encodeUint8Affine(v: Float32Array): Encoded {
  let lo = Infinity, hi = -Infinity;
  for (const x of v) { if (x < lo) lo = x; if (x > hi) hi = x; }
  if (!Number.isFinite(lo)) { lo = 0; hi = 0; }
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const out = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Math.max(0, Math.min(255, Math.round((v[i] - lo) / scale)));
  return { bytes: out, dtype: 'uint8', scale, min: lo };
}
