// What the safetensors format forbids is refused on reading, in one line naming the file and
// what is wrong (issue 20, item 8): __metadata__ values other than strings, bytes of the data
// region no tensor owns (a gap), bytes after the last tensor. Zero-length tensors and the
// space padding of the header are allowed, as the reference implementation allows them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '../../core/formats/safetensors/read.js';
import { InputError } from '../../core/types.js';
import { tempDir } from '../helpers/cli.js';

/** A file with `header` (data_offsets as given) and `data` bytes after it. */
function file(header: Record<string, unknown>, data: number): string {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  const path = join(tempDir(), 'm.safetensors');
  writeFileSync(path, Buffer.concat([len, h, Buffer.alloc(data)]));
  return path;
}
const f32 = (rows: number, cols: number, from: number) => ({ dtype: 'F32', shape: [rows, cols], data_offsets: [from, from + rows * cols * 4] });
const refused = async (path: string, message: string): Promise<void> =>
  assert.rejects(readSafetensors(path), (e: unknown) => e instanceof InputError && e.message === `${path}: ${message}`);

test('__metadata__ must map strings to strings: another value is refused naming its key', async () => {
  const w = { 'a.weight': f32(4, 4, 0) };
  await refused(file({ __metadata__: { format: 'pt', epoch: 3 }, ...w }, 64), '__metadata__ value of "epoch" is a number, not a string (the format allows strings only)');
  await refused(file({ __metadata__: { cfg: { a: 1 } }, ...w }, 64), '__metadata__ value of "cfg" is an object, not a string (the format allows strings only)');
  await refused(file({ __metadata__: { tags: ['x'] }, ...w }, 64), '__metadata__ value of "tags" is an array, not a string (the format allows strings only)');
  await refused(file({ __metadata__: 'pt', ...w }, 64), '__metadata__ is not an object of strings');
  const ok = await readSafetensors(file({ __metadata__: { format: 'pt', __proto__x: 'y' }, ...w }, 64));
  assert.deepEqual(ok.extra.metadata, { format: 'pt', __proto__x: 'y' });
  await ok.close();
  const none = await readSafetensors(file({ __metadata__: null, ...w }, 64));
  assert.deepEqual(none.extra.metadata, {});
  await none.close();
});

test('the tensors tile the data region exactly: a gap or trailing bytes are refused with their file offsets', async () => {
  /** Where the data region of a file with this header starts. */
  const start = (h: Record<string, unknown>): number => 8 + Buffer.byteLength(JSON.stringify(h));
  const gap = { 'a.weight': f32(4, 4, 0), 'b.weight': f32(2, 4, 80) };
  await refused(file(gap, 112), `data region has a gap: file bytes ${start(gap) + 64}..${start(gap) + 80} before tensor b.weight belong to no tensor (the format forbids gaps)`);
  const late = { 'a.weight': f32(4, 4, 8) };
  await refused(file(late, 72), `data region has a gap: file bytes ${start(late)}..${start(late) + 8} before tensor a.weight belong to no tensor (the format forbids gaps)`);
  const one = { 'a.weight': f32(4, 4, 0) };
  await refused(file(one, 64 + 5), `5 trailing bytes at file offsets ${start(one) + 64}..${start(one) + 69} after the last tensor (the format forbids them)`);
  // Zero-length tensors sit anywhere in the tiling, before or after one at the same offset.
  const zeros = { 'e.weight': { dtype: 'F32', shape: [0, 4], data_offsets: [64, 64] }, 'a.weight': f32(4, 4, 0), 'z.bias': { dtype: 'F32', shape: [0], data_offsets: [0, 0] } };
  const m = await readSafetensors(file(zeros, 64));
  assert.equal(m.tensors.length, 3);
  await m.close();
});
