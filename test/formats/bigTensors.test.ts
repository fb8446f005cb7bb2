// Tensors bigger than one read: stored models read and decode them piece by piece so a big
// layer's raw bytes never sit in memory beside its floats. The values must be exactly what
// numpy wrote, for float32 (copied as stored) and float16 (decoded), and a header claiming
// more bytes than the file holds is refused before anything is allocated for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { readSafetensors } from '../../core/formats/safetensors/read.js';
import { tempDir } from '../helpers/cli.js';
import { python } from '../helpers/python.js';

const dir = tempDir('reducible-big-tensors-');
const file = join(dir, 'big.safetensors');

// Shapes just over and well over one 8 MiB read, with a size that is no multiple of it.
const SHAPES = { 'a.weight': ['F32', [1100, 2049]], 'b.weight': ['F16', [2100, 2051]] } as const;

// numpy writes the file (its own little safetensors writer) and prints the values as float32.
const expected = python(`
import sys, json, struct, numpy as np
path = sys.argv[1]
rng = np.random.default_rng(7)
a = rng.standard_normal((1100, 2049)).astype("<f4")
b = rng.standard_normal((2100, 2051)).astype("<f2")
header = {"a.weight": {"dtype": "F32", "shape": list(a.shape), "data_offsets": [0, a.nbytes]},
          "b.weight": {"dtype": "F16", "shape": list(b.shape), "data_offsets": [a.nbytes, a.nbytes + b.nbytes]}}
h = json.dumps(header).encode()
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + a.tobytes() + b.tobytes())
sys.stdout.buffer.write(a.tobytes() + b.astype("<f4").tobytes())`, undefined, [file]);

test('tensors over one read come back exactly as numpy wrote them (float32 and float16)', async () => {
  const model = await readSafetensors(file);
  try {
    let at = 0;
    for (const [name, [, shape]] of Object.entries(SHAPES)) {
      const n = shape[0] * shape[1];
      const want = new Float32Array(expected.buffer.slice(expected.byteOffset + at * 4, expected.byteOffset + (at + n) * 4));
      const got = await model.readTensor(name);
      assert.equal(got.length, n, name);
      assert.ok(got.every((v, i) => Object.is(v, want[i])), `${name} differs from numpy`);
      at += n;
    }
  } finally {
    await model.close();
  }
});

test('a big tensor whose bytes run past the end of the file is refused, naming the file', async () => {
  const cut = join(dir, 'cut.safetensors');
  const bytes = readFileSync(file);
  writeFileSync(cut, bytes.subarray(0, bytes.length - 1000));
  // The reader may refuse at open (sizes checked against the file) or at the read: both are one-line refusals.
  await assert.rejects(async () => {
    const model = await readSafetensors(cut);
    try { await model.readTensor('b.weight'); } finally { await model.close(); }
  }, (e: Error) => e.name === 'InputError' && e.message.includes('cut.safetensors'));
});
