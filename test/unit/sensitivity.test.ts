// Sensitivity probes (core/compress/sensitivityTfjs.ts) each approximate one layer alone: on
// the real digits model, a layer's measured weight must not depend on which probes ran before
// it: the model is restored after every probe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layersSource } from '../../core/compress/layersModel.js';
import { tfjsSensitivity } from '../../core/compress/sensitivityTfjs.js';
import { inputsFromFile } from '../../core/eval/evaluate.js';
import { openModel } from '../../core/formats/open.js';

const EX = 'examples/digits';

test('each sensitivity probe approximates its layer alone, whatever ran before it', async () => {
  const model = await openModel(`${EX}/model.json`);
  const source = layersSource(model);
  try {
    const x = await inputsFromFile(`${EX}/calib.npz:x`);
    // A probe halves a layer's weights: a quarter of its energy discarded.
    const probe = async (name: string) => {
      const w = await model.readMatrix(model.layers.find((l) => l.name === name)!);
      return { name, approx: w.map((v) => v / 2), discarded: 0.25 };
    };
    const [a, b] = [await probe('dense_1'), await probe('dense_2')];
    const together = await tfjsSensitivity(source, [a, b], x);
    const alone = await tfjsSensitivity(source, [b], x);
    const reversed = await tfjsSensitivity(source, [b, a], x);
    assert.ok(Math.abs(together.get('dense_2')! - alone.get('dense_2')!) < 1e-6 * alone.get('dense_2')!, `${together.get('dense_2')} vs ${alone.get('dense_2')} alone`);
    assert.ok(Math.abs(together.get('dense_1')! - reversed.get('dense_1')!) < 1e-6 * together.get('dense_1')!, `${together.get('dense_1')} vs ${reversed.get('dense_1')} after dense_2`);
    assert.ok(together.get('dense_1')! > 0 && together.get('dense_2')! > 0);
  } finally {
    await source.dispose();
    await model.close();
  }
});
