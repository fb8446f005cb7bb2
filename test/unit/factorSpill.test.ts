import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from '../../core/compress/factorSource.js';
import { FactorSpill } from '../../core/compress/factorSpill.js';
import type { Factorisation } from '../../core/compress/types.js';
import { AtomicOutput } from '../../core/io/atomicOutput.js';
import type { Layer } from '../../core/types.js';
import { tempDir } from '../helpers/cli.js';

/** A rows×cols layer's rank-k factors with distinct, recognisable values. */
function factors(name: string, rows: number, cols: number, k: number, seed: number): Factorisation {
  const layer = { name, weight: `${name}.weight`, matrix: { rows, cols } } as unknown as Layer;
  return {
    layer, rank: k, relativeError: seed / 100,
    a: Float32Array.from({ length: rows * k }, (_, i) => seed + i / 7),
    b: Float32Array.from({ length: k * cols }, (_, i) => -seed - i / 3),
  };
}

test('FactorSpill: factors spilled concurrently come back intact, in the order asked for', async () => {
  const dir = tempDir();
  const sink = new AtomicOutput([]);
  try {
    const spill = new FactorSpill(await sink.scratch(join(dir, 'out.safetensors')));
    const made = [factors('x', 30, 20, 5, 1), factors('y', 8, 40, 3, 2), factors('z', 64, 64, 16, 3)];
    // Appends overlap as the lanes finish their layers.
    await Promise.all([...made].reverse().map((f) => spill.put({ ...f, a: f.a.slice(), b: f.b.slice() })));
    const source = spill.inOrder(['x', 'y', 'z']);
    assert.deepEqual([...source.shapes.keys()], ['x', 'y', 'z']);
    assert.equal(source.shapes.get('y')!.rank, 3);
    assert.equal('a' in source.shapes.get('y')!, false, 'shapes carry no data');
    for (const f of [...made].reverse()) {
      const back = await source.load(f.layer.name);
      assert.deepEqual([back.a, back.b, back.rank, back.relativeError], [f.a, f.b, f.rank, f.relativeError]);
    }
    // A writer's reused buffer is read into; loads without one stay put.
    const all = await loadAll(source);
    const into = new Float32Array(64 * 16 * 2 + 5);
    const z = await source.load('z', into);
    assert.equal(z.a.buffer, into.buffer);
    assert.deepEqual([z.a, z.b], [made[2].a, made[2].b]);
    await source.load('y', into);
    assert.deepEqual([...all.values()].map((f) => [f.a, f.b]), made.map((f) => [f.a, f.b]));
  } finally {
    await sink.abort();
  }
});

test('the scratch file lives beside the output only while the job runs: commit and abort both remove it', async () => {
  for (const end of ['commit', 'abort'] as const) {
    const dir = tempDir();
    const sink = new AtomicOutput([]);
    const spill = new FactorSpill(await sink.scratch(join(dir, 'out.onnx')));
    await spill.put(factors('x', 16, 16, 4, 1));
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.scratch.tmp')).length, 1, 'the factors are on disk');
    const out = await sink.file(join(dir, 'out.onnx'));
    await out.write(new Uint8Array([1, 2, 3]));
    await sink[end]();
    assert.deepEqual(readdirSync(dir), end === 'commit' ? ['out.onnx'] : [], end);
  }
});
