// float16 datasets, which h5wasm cannot create (its type builder has 4- and 8-byte floats
// only). The half values are written as a float32 dataset of the same rank holding
// ⌈n/2⌉ elements — the same bytes, H5Dwrite copies them unconverted — and, once the file
// is closed, that dataset's object header is patched: the datatype message becomes IEEE
// half (exactly what h5py writes for numpy float16), the dataspace gets the real shape and
// the contiguous layout the real size; the header's checksum is then recomputed. Files are
// created with libver v108 (containers/h5wasm.ts), so object headers are version 2 ("OHDR").
import { open, type FileHandle } from 'node:fs/promises';
import type { Dataset, Group } from 'h5wasm/node';

export interface HalfPatch { name: string; address: number; shape: number[] }

const MSG_DATASPACE = 0x01, MSG_DATATYPE = 0x03, MSG_LAYOUT = 0x08, MSG_CONTINUATION = 0x10;

/** IEEE 754 half as an HDF5 version-1 floating-point datatype message body (20 bytes). */
const HALF_DATATYPE = Uint8Array.from([
  0x11, 0x20, 0x0f, 0x00, 2, 0, 0, 0, // class float v1; LE, implied mantissa bit, sign at bit 15; 2 bytes
  0, 0, 16, 0, // bit offset 0, precision 16
  10, 5, 0, 10, // exponent at bit 10 (5 bits), mantissa at bit 0 (10 bits)
  15, 0, 0, 0, // exponent bias 15
]);

/** Writes `halfBytes` (n little-endian halves) as the stand-in float32 dataset; patch it after closing. */
export function createHalfStandIn(group: Group, name: string, halfBytes: Uint8Array, shape: number[]): HalfPatch {
  const count = shape.reduce((a, b) => a * b, 1);
  const words = new Float32Array(Math.ceil(count / 2));
  new Uint8Array(words.buffer).set(halfBytes.subarray(0, count * 2));
  const standIn = [...shape.slice(0, -1).map(() => 1), words.length];
  const ds: Dataset = group.create_dataset({ name, data: words, shape: standIn, dtype: '<f4' });
  // An HDF5 1.8-style object reference is the object header's address.
  const ref = Uint8Array.from(ds.create_reference().ref_data);
  return { name: ds.path, address: Number(new DataView(ref.buffer).getBigUint64(0, true)), shape };
}

/** Rewrites each stand-in's object header in the closed file at `path`. */
export async function applyHalfPatches(path: string, patches: HalfPatch[]): Promise<void> {
  if (patches.length === 0) return;
  const fh = await open(path, 'r+');
  try {
    for (const p of patches) await patchHeader(fh, p);
  } finally {
    await fh.close();
  }
}

async function read(fh: FileHandle, at: number, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  const { bytesRead } = await fh.read(buf, 0, n, at);
  if (bytesRead !== n) throw new Error(`short read of ${n} bytes at ${at}`);
  return buf;
}

async function patchHeader(fh: FileHandle, p: HalfPatch): Promise<void> {
  const prefix = await read(fh, p.address, 34);
  const text = (b: Uint8Array, at: number): string => String.fromCharCode(...b.subarray(at, at + 4));
  if (text(prefix, 0) !== 'OHDR' || prefix[4] !== 2) throw new Error(`${p.name}: not a version-2 object header`);
  const flags = prefix[5];
  const sizeAt = 6 + (flags & 0x20 ? 16 : 0) + (flags & 0x10 ? 4 : 0);
  const sizeBytes = 1 << (flags & 3);
  const chunkSize = readUint(prefix, sizeAt, sizeBytes);
  const msgHeader = flags & 0x04 ? 6 : 4;
  const blocks: [number, number, number][] = [[p.address, sizeAt + sizeBytes, sizeAt + sizeBytes + chunkSize + 4]];
  const seen = new Set<number>();
  for (let i = 0; i < blocks.length; i++) {
    const [at, first, total] = blocks[i];
    const chunk = await read(fh, at, total);
    if (i > 0 && text(chunk, 0) !== 'OCHK') throw new Error(`${p.name}: bad continuation block`);
    const dv = new DataView(chunk.buffer);
    if (lookup3(chunk.subarray(0, total - 4)) !== dv.getUint32(total - 4, true)) throw new Error(`${p.name}: object header checksum does not match`);
    for (let off = first; off + msgHeader <= total - 4;) {
      const type = chunk[off], len = dv.getUint16(off + 1, true), body = off + msgHeader;
      if (type === MSG_CONTINUATION) blocks.push([Number(dv.getBigUint64(body, true)), 4, Number(dv.getBigUint64(body + 8, true))]);
      else if (type === MSG_DATATYPE) chunk.set(HALF_DATATYPE, body);
      else if (type === MSG_DATASPACE) chunk.set(dims(p.shape, chunk[body + 2] & 1), body + (chunk[body] === 1 ? 8 : 4));
      else if (type === MSG_LAYOUT) {
        if (chunk[body] !== 3 || chunk[body + 1] !== 1) throw new Error(`${p.name}: not a version-3 contiguous layout`);
        dv.setBigUint64(body + 10, BigInt(p.shape.reduce((a, c) => a * c, 1) * 2), true);
      }
      seen.add(type);
      off = body + len;
    }
    dv.setUint32(total - 4, lookup3(chunk.subarray(0, total - 4)), true);
    await fh.write(chunk, 0, total, at);
  }
  if (![MSG_DATASPACE, MSG_DATATYPE, MSG_LAYOUT].every((t) => seen.has(t))) throw new Error(`${p.name}: object header lacks a dataspace, datatype or layout message`);
}

function readUint(b: Uint8Array, at: number, bytes: number): number {
  let v = 0;
  for (let i = bytes - 1; i >= 0; i--) v = v * 256 + b[at + i];
  return v;
}

/** The dims of a dataspace message, followed by the same max dims when the message has them. */
function dims(shape: number[], hasMax: number): Uint8Array {
  const all = hasMax ? [...shape, ...shape] : shape;
  const out = new Uint8Array(all.length * 8);
  const dv = new DataView(out.buffer);
  all.forEach((d, i) => dv.setBigUint64(i * 8, BigInt(d), true));
  return out;
}

/** Bob Jenkins' lookup3 hashlittle with initval 0: HDF5's metadata checksum (H5_checksum_lookup3). */
export function lookup3(key: Uint8Array): number {
  let a = (0xdeadbeef + key.length) >>> 0, b = a, c = a;
  const rot = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;
  const word = (i: number, n: number): number => {
    let v = 0;
    for (let j = Math.min(n, 4) - 1; j >= 0; j--) v = (v << 8) | key[i + j];
    return v >>> 0;
  };
  let i = 0, left = key.length;
  while (left > 12) {
    a = (a + word(i, 4)) >>> 0; b = (b + word(i + 4, 4)) >>> 0; c = (c + word(i + 8, 4)) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rot(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rot(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rot(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rot(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rot(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rot(b, 4)) >>> 0; b = (b + a) >>> 0;
    i += 12; left -= 12;
  }
  if (left === 0) return c;
  if (left > 8) c = (c + word(i + 8, left - 8)) >>> 0;
  if (left > 4) b = (b + word(i + 4, Math.min(left - 4, 4))) >>> 0;
  a = (a + word(i, Math.min(left, 4))) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rot(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rot(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rot(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rot(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rot(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rot(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rot(b, 24)) >>> 0;
  return c;
}
