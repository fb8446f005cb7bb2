// The server's content hash (server/contentHash.ts): the same digest as before it read through
// FileSource (cached analyses stay valid), and a model part that is a FIFO refused at once
// instead of an open that waits for a writer (a file swapped for a FIFO after its model opened).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contentHash } from '../../server/contentHash.js';
import { tempDir } from '../helpers/cli.js';

test('hashes every file with its index as a separator, across reads of 1 MiB', async () => {
  const dir = tempDir();
  const parts = [new Uint8Array(3 * 2 ** 20 + 17).map((_, i) => i * 31), new Uint8Array(0), new Uint8Array([1, 2, 3])];
  const files = parts.map((p, i) => { const f = join(dir, `p${i}`); writeFileSync(f, p); return f; });
  const expected = createHash('sha256');
  parts.forEach((p, i) => expected.update(`\0${i}\0`).update(p));
  assert.equal(await contentHash(files), expected.digest('hex'));
});

test('a FIFO among the files is refused in one line naming it, without waiting for a writer', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'model.json'), '{}');
  const fifo = join(dir, 'weights.bin');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const t0 = performance.now();
  await assert.rejects(contentHash([join(dir, 'model.json'), fifo]), (e: Error) => e.message.includes(fifo) && /not a regular file \(a FIFO\)/.test(e.message));
  assert.ok(performance.now() - t0 < 2000);
});
