import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySource } from '../../core/io/byteSource.js';
import { concat, encodeVarint, lengthPrefix, messageFields, sourceFields, WireError } from '../../core/formats/containers/protobuf.js';

/** A message of length-delimited fields of these sizes (field numbers 1, 2, …) and a varint field after each. */
function message(sizes: number[]): Uint8Array {
  const parts: Uint8Array[] = [];
  sizes.forEach((n, i) => {
    const body = new Uint8Array(n).map((_, j) => (i * 31 + j) & 0xff);
    parts.push(lengthPrefix(i + 1, n), body, encodeVarint((i + 1) * 8), encodeVarint(300 + i));
  });
  return concat(parts);
}

async function streamed(bytes: Uint8Array, skip?: (f: { field: number }) => boolean) {
  const out = [];
  for await (const f of sourceFields(new MemorySource(bytes), 0, bytes.length, skip)) out.push(f);
  return out;
}

test('sourceFields: the same fields and bytes as messageFields, across window edges and past the window', async () => {
  // 1 MiB window: a field straddling its end, one larger than a window, many small ones.
  const bytes = message([10, (1 << 20) - 20, 3, (1 << 20) + 12345, ...Array.from({ length: 200 }, (_, i) => i)]);
  const whole = messageFields(bytes, 0, bytes.length);
  const fields = await streamed(bytes);
  assert.deepEqual(fields.map((f) => f.range), whole);
  for (const { range, bytes: b } of fields) assert.deepEqual(b, bytes.subarray(range.start, range.end));
});

test('sourceFields: skipped fields come without their bytes, and are not read', async () => {
  const bytes = message([5, 3 << 20, 7]);
  const reads: number[] = [];
  const src = new MemorySource(bytes);
  const counting = { read: (o: number, n: number) => { reads.push(n); return src.read(o, n); } };
  const fields = [];
  for await (const f of sourceFields(counting, 0, bytes.length, (r) => r.field === 2)) fields.push(f);
  assert.equal(fields.find((f) => f.range.field === 2)!.bytes, undefined);
  assert.ok(Math.max(...reads) <= 1 << 20, `largest read ${Math.max(...reads)} bytes`);
  assert.deepEqual(fields.find((f) => f.range.field === 3)!.bytes, bytes.subarray(fields[4].range.start, fields[4].range.end));
});

test('sourceFields: a length past the end of the message is refused before anything that large is read', async () => {
  const bytes = concat([lengthPrefix(1, 4), new Uint8Array(4), lengthPrefix(2, 2 ** 40), new Uint8Array(8)]);
  await assert.rejects(streamed(bytes), (e: Error) => e instanceof WireError && /field 2 at byte 6 runs/.test(e.message));
});
