// Whitened analysis (--method whitened): the layers the calibration covers get their whitened
// spectrum, read once more; the others keep the plain one the job already has.
import { test } from 'node:test';
import { dirname, join } from 'node:path';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { analyzeModel } from '../../core/analysis.js';
import { calibrationMoments, plainStrategy, whitenedStrategy } from '../../core/compress/strategy.js';
import { runnerFor } from '../../core/formats/registry.js';
import { choleskyWithJitter, whitenWeight } from '../../core/compress/whiten.js';
import { EmbeddedEngine } from '../../core/engines/embedded.js';
import { openModel } from '../../core/formats/open.js';
import { saveTfjs } from '../fixtures/tfjsModels.js';
import { tempDir } from '../helpers/cli.js';
import { randomMatrix } from '../helpers/random.js';

test('whitened analysis reads each layer once: whitened spectra where covered, plain ones elsewhere', async () => {
  await tf.setBackend('cpu');
  const m = tf.sequential();
  // Collectors cover dense and conv layers: the embedding keeps its plain spectrum.
  m.add(tf.layers.embedding({ inputShape: [4], inputDim: 20, outputDim: 8, name: 'embed', embeddingsInitializer: tf.initializers.randomNormal({ seed: 1 }) }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 24, name: 'hidden', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  const path = await saveTfjs(m, tempDir());
  // Some tokens far more often than others, so the whitened spectrum differs from the plain one.
  const u = randomMatrix(300, 4, 3);
  const calibration = { data: Float32Array.from(u, (v) => Math.min(19, Math.floor(v * v * 3))), shape: [300, 4] };

  const model = await openModel(path);
  const engine = new EmbeddedEngine(1);
  try {
    const runner = runnerFor(model, { out: join(dirname(path), 'out.json') });
    const plainOne = await plainStrategy(model, engine, {});
    const reads = new Map<string, number>();
    const read = model.readStoredMatrix.bind(model);
    model.readStoredMatrix = (layer) => { reads.set(layer.name, (reads.get(layer.name) ?? 0) + 1); return read(layer); };
    const { analysis } = await whitenedStrategy(model, engine, calibration, {}, runner, plainOne);
    // The plain analysis (the job has it for the guard) gives the embedding's spectrum: only the covered layer is read again.
    assert.deepEqual(Object.fromEntries(reads), { hidden: 1 });

    const plain = await analyzeModel(model, engine);
    const moments = await calibrationMoments(runner, calibration, {});
    assert.deepEqual([...moments.keys()], ['hidden']);
    const hidden = model.layers.find((l) => l.name === 'hidden')!;
    const { rows, cols } = hidden.matrix;
    const c = moments.get('hidden')!;
    const want = await engine.spectrum({ data: whitenWeight(choleskyWithJitter(c.c, c.dim), await model.readMatrix(hidden), rows, cols), rows, cols });
    assert.deepEqual(analysis.layers.map((l) => l.name), ['embed', 'hidden']);
    assert.deepEqual(analysis.layers[0], plain.layers[0]);
    assert.deepEqual(analysis.layers[1].singularValues, Array.from(want));
    assert.notDeepEqual(analysis.layers[1].singularValues, plain.layers[1].singularValues);
  } finally {
    await engine.close();
    await model.close();
  }
});
