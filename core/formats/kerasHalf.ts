// float16 datasets, which h5wasm cannot create (its type builder has 4- and 8-byte floats
// only). The half values are written as a float32 dataset of the same rank holding
// ⌈n/2⌉ elements — the same bytes, H5Dwrite copies them unconverted — and, once the file
// is closed, that dataset's object header is patched: the datatype message becomes IEEE
// half (exactly what h5py writes for numpy float16), the dataspace gets the real shape and
// the contiguous layout the real size. This needs version-1 object headers, which carry no
// checksums: files are created with libver 'earliest', as h5py does by default.
import { open } from 'node:fs/promises';
import type { Dataset, Group } from 'h5wasm/node';

export interface HalfPatch { name: string; address: number; shape: number[] }

const MSG_DATASPACE = 0x0001, MSG_DATATYPE = 0x0003, MSG_LAYOUT = 0x0008, MSG_CONTINUATION = 0x0010;

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
  const address = Number(new DataView(ref.buffer).getBigUint64(0, true));
  return { name: ds.path, address, shape };
}

/** Rewrites each stand-in's object header in the closed file at `path`. */
export async function applyHalfPatches(path: string, patches: HalfPatch[]): Promise<void> {
  if (patches.length === 0) return;
  const fh = await open(path, 'r+');
  const read = async (at: number, n: number): Promise<DataView> => {
    const buf = new Uint8Array(n);
    await fh.read(buf, 0, n, at);
    return new DataView(buf.buffer);
  };
  const write = async (at: number, bytes: Uint8Array): Promise<void> => { await fh.write(bytes, 0, bytes.length, at); };
  try {
    for (const p of patches) {
      const head = await read(p.address, 16);
      if (head.getUint8(0) !== 1) throw new Error(`${p.name}: object header version ${head.getUint8(0)}, expected 1`);
      const blocks: [number, number][] = [[p.address + 16, head.getUint32(8, true)]];
      const seen = new Set<number>();
      for (let b = 0; b < blocks.length; b++) {
        const [start, size] = blocks[b];
        const block = await read(start, size);
        for (let off = 0; off + 8 <= size;) {
          const type = block.getUint16(off, true), len = block.getUint16(off + 2, true), body = start + off + 8;
          if (type === MSG_CONTINUATION) blocks.push([Number(block.getBigUint64(off + 8, true)), Number(block.getBigUint64(off + 16, true))]);
          else if (type === MSG_DATATYPE) await write(body, HALF_DATATYPE);
          else if (type === MSG_DATASPACE) await write(body + (block.getUint8(off + 8) === 1 ? 8 : 4), dims(p.shape, block.getUint8(off + 10) & 1));
          else if (type === MSG_LAYOUT) {
            if (block.getUint8(off + 8) !== 3 || block.getUint8(off + 9) !== 1) throw new Error(`${p.name}: not a version-3 contiguous layout`);
            await write(body + 10, u64(p.shape.reduce((a, c) => a * c, 1) * 2));
          }
          seen.add(type);
          off += 8 + len;
        }
      }
      if (![MSG_DATASPACE, MSG_DATATYPE, MSG_LAYOUT].every((t) => seen.has(t))) throw new Error(`${p.name}: object header lacks a dataspace, datatype or layout message`);
    }
  } finally {
    await fh.close();
  }
}

/** The dims of a dataspace message, followed by the same max dims when the message has them. */
function dims(shape: number[], hasMax: number): Uint8Array {
  const one = shape.map(u64);
  const all = hasMax ? [...one, ...one] : one;
  const out = new Uint8Array(all.length * 8);
  all.forEach((d, i) => out.set(d, i * 8));
  return out;
}

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}
