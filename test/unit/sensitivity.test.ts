// Sensitivity probes (core/compress/sensitivity.ts) each approximate one layer alone: on the
// real digits model, a layer's measured weight must not depend on which probes ran before it
// (the model is restored after every probe); and probes written and run in onnxruntime measure
// what probes in TF.js measure, on the same CNN in both formats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layersSourceOf } from '../helpers/layersSource.js';
import { tfjsSensitivity } from '../../core/runners/tfjsSensitivity.js';
import { inputsFromFile } from '../../core/eval/evaluate.js';
import { openModel } from '../../core/formats/open.js';
import type { StoredModel } from '../../core/formats/storedModel.js';
import { runnerFor } from '../../core/formats/registry.js';
import { createEngine } from '../../core/engines/select.js';
import { plainStrategy, whitenedStrategy, withSensitivity } from '../../core/compress/strategy.js';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const EX = 'examples/digits';

test('each sensitivity probe approximates its layer alone, whatever ran before it', async () => {
  const model = await openModel(`${EX}/model.json`);
  const source = layersSourceOf(model);
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

test('probes run in onnxruntime (written variants) measure what probes run in TF.js measure: the Fashion-MNIST CNN as TF.js and as ONNX', async () => {
  const engine = await createEngine('wasm');
  const x = await inputsFromFile('examples/fashion-mnist/calib.npz:x');
  const dir = mkdtempSync(join(tmpdir(), 'reducible-sensitivity-'));
  const [tfjsModel, onnxModel] = [await openModel('examples/fashion-cnn/model.json'), await openModel('examples/fashion-cnn/model.onnx')];
  try {
    // The TF.js model runs in memory, the ONNX one as variants written beside `out` and run in onnxruntime.
    const gains = async (model: StoredModel<unknown>, out: string): Promise<Map<string, number>> => {
      const runner = runnerFor(model, { out });
      try {
        const s = await withSensitivity(await whitenedStrategy(model, engine, x, {}, runner, await plainStrategy(model, engine, {})), model, x, {}, runner);
        return new Map(s.analysis.layers.filter((l) => l.factorisable).map((l) => [l.name, l.sensitivity!]));
      } finally {
        await runner.dispose();
      }
    };
    const inTfjs = await gains(tfjsModel, join(dir, 'out.json'));
    const written = await gains(onnxModel, join(dir, 'out.onnx'));
    // ONNX names its nodes after PyTorch's modules.
    for (const [name, gain] of inTfjs) {
      const other = written.get(`/net/${name}/${name.startsWith('conv') ? 'Conv' : 'Gemm'}`)!;
      assert.ok(gain > 0 && Math.abs(other - gain) <= 1e-3 * gain, `${name}: ${other} written and run in onnxruntime vs ${gain} in TF.js`);
    }
    assert.equal(written.size, 4);
    assert.deepEqual(readdirSync(dir), [], 'the written variants are gone');
  } finally {
    await Promise.all([tfjsModel.close(), onnxModel.close(), engine.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
});
