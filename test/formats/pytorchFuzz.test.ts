// Corrupted checkpoints: whatever bytes a file holds, the reader either reads it or refuses it
// with an InputError (exit code 2, one line) — never another exception, never a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { makeFixtures, tempDir } from '../helpers/cli.js';
import { FileSource } from '../../core/io/byteSource.js';
import { parsePickle } from '../../core/formats/containers/pickle.js';
import { readPytorch } from '../../core/formats/pytorch/read.js';
import { torchHooks } from '../../core/formats/pytorch/pickleVocabulary.js';
import { ZipArchive } from '../../core/formats/containers/zip.js';
import { InputError } from '../../core/types.js';

const dir = makeFixtures('test/fixtures/make_pytorch.py');
const good = readFileSync(join(dir, 'cnn.pth'));

/** Up to 8 byte overwrites, optionally followed by a truncation. */
const mutation = (size: number) => fc.record({
  edits: fc.array(fc.tuple(fc.nat(size - 1), fc.nat(255)), { minLength: 1, maxLength: 8 }),
  keep: fc.option(fc.nat(size), { nil: undefined }),
});
function mutate(bytes: Uint8Array, m: { edits: [number, number][]; keep?: number }): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (const [at, v] of m.edits) out[at] = v;
  return out.subarray(0, m.keep ?? out.length);
}
const onlyInputErrors = (e: unknown): void => { if (!(e instanceof InputError)) throw e; };

test('mutated data.pkl: parsed or refused with an InputError', async () => {
  const src = await FileSource.open(join(dir, 'cnn.pth'));
  const zip = await ZipArchive.open(src, 'cnn.pth');
  const pkl = await zip.read([...zip.entries.values()].find((e) => e.name.endsWith('/data.pkl'))!, 1 << 20);
  await src.close();
  assert.ok(parsePickle(pkl, 'cnn.pth', torchHooks('cnn.pth')) instanceof Map, 'the unmutated pickle parses');
  fc.assert(fc.property(mutation(pkl.length), (m) => {
    try { parsePickle(mutate(pkl, m), 'cnn.pth', torchHooks('cnn.pth')); } catch (e) { onlyInputErrors(e); }
  }), { seed: 1, numRuns: 2000 });
});

test('mutated checkpoint zip: read (every tensor too) or refused with an InputError', async () => {
  const work = tempDir();
  // Mutations aimed at the zip structures (directory, local headers) as well as anywhere.
  const tail = good.length - 2048;
  await fc.assert(fc.asyncProperty(fc.oneof(mutation(good.length), mutation(2048).map((m) => ({ ...m, edits: m.edits.map(([a, v]) => [a + tail, v] as [number, number]) }))), async (m) => {
    const file = join(work, 'fuzz.pt');
    writeFileSync(file, mutate(good, m));
    try {
      const model = await readPytorch(file);
      try { for (const t of model.tensors) await model.readTensor(t.name); } finally { await model.close(); }
    } catch (e) { onlyInputErrors(e); }
  }), { seed: 2, numRuns: 300 });
});
