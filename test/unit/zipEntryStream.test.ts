// Deflated zip entries are inflated step by step against their declared size (zip.ts
// EntryStream): reads at any offsets give the entry's bytes, in order or not, and a stream
// running past its declared size is stopped within one step, whatever it would expand to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Deflate, zipSync } from 'fflate';
import { ZipArchive } from '../../core/formats/containers/zip.js';
import type { ByteSource } from '../../core/io/byteSource.js';
import { InputError } from '../../core/types.js';

const memory = (bytes: Uint8Array): ByteSource => ({
  size: bytes.length,
  read: async (offset, length) => bytes.slice(offset, offset + length),
  close: async () => undefined,
});

test('reads at offsets give the entry\'s bytes: sequential chunks, backwards, and the whole', async () => {
  const data = new Uint8Array(3_000_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24 & (i % 7 ? 0xff : 0);
  const zip = await ZipArchive.open(memory(zipSync({ 'a/data/0': [data, { level: 6 }] })), 'm.pt');
  const entry = zip.entries.get('a/data/0')!;
  assert.equal(entry.method, 8);
  const stream = zip.inflated(entry);
  for (let at = 0; at < data.length; at += 777_777) {
    const n = Math.min(777_777, data.length - at);
    assert.deepEqual(await stream.read(at, n), data.subarray(at, at + n), `chunk at ${at}`);
  }
  assert.deepEqual(await stream.read(10, 5), data.subarray(10, 15), 'a read behind the position starts the stream again');
  assert.deepEqual(await Promise.all([stream.read(100, 3), stream.read(2_000_000, 4)]), [data.subarray(100, 103), data.subarray(2_000_000, 2_000_004)], 'overlapping reads run one at a time');
  assert.deepEqual(await zip.read(entry, data.length), data);
  await assert.rejects(zip.read(entry, data.length - 1), /over the \d+-byte limit/);
});

test('a stream that inflates past its declared size is refused within one step, naming the file and the entry', async () => {
  // 128 MiB of zeros deflate to ~128 KiB; the zip says the entry is 1 000 bytes.
  const zeros = deflatedZeros(128);
  const zip = zipSync({ 'a/data/0': [new Uint8Array(1000), { level: 9 }] });
  const archive = splice(zip, zeros);
  const z = await ZipArchive.open(memory(archive), 'bomb.pt');
  const stream = z.inflated(z.entries.get('a/data/0')!);
  const before = process.memoryUsage().arrayBuffers;
  await assert.rejects(stream.read(0, 1000), (e: unknown) => e instanceof InputError && e.message === 'bomb.pt: zip entry "a/data/0" inflates past its declared 1000 bytes');
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, 'never holds the whole stream');
  // The refusal stands for every later read.
  await assert.rejects(stream.read(0, 10), /inflates past its declared 1000 bytes/);
});

/** The zip with its one entry's compressed bytes replaced by `raw` (sizes in both headers and the directory offset moved). */
function splice(zip: Uint8Array, raw: Uint8Array): Uint8Array {
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const nameLen = dv.getUint16(26, true), extraLen = dv.getUint16(28, true);
  const dataAt = 30 + nameLen + extraLen, oldLen = dv.getUint32(18, true);
  const out = new Uint8Array(zip.length - oldLen + raw.length);
  out.set(zip.subarray(0, dataAt));
  out.set(raw, dataAt);
  out.set(zip.subarray(dataAt + oldLen), dataAt + raw.length);
  const o = new DataView(out.buffer);
  const cd = dataAt + raw.length;
  o.setUint32(18, raw.length, true);
  o.setUint32(cd + 20, raw.length, true);
  const eocd = out.length - 22;
  o.setUint32(eocd + 16, cd, true);
  return out;
}

/** Raw deflate of `mib` MiB of zeros, made a MiB at a time. */
function deflatedZeros(mib: number): Uint8Array {
  const parts: Uint8Array[] = [];
  const d = new Deflate({ level: 9 }, (chunk) => { parts.push(chunk); });
  const zero = new Uint8Array(1024 * 1024);
  for (let i = 0; i < mib; i++) d.push(zero, i === mib - 1);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
