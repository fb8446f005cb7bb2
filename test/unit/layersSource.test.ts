// A job's TF.js-run steps share one read of the model file (core/runners/layersSource.ts):
// every step's model is its own (overwriting or disposing one leaves the others as they
// were), and once read, the file is not needed again — for a Keras file as for TF.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { layersSourceOf } from '../helpers/layersSource.js';
import { tfjs } from '../../core/formats/tfjs/runtime.js';
import { openModel } from '../../core/formats/open.js';
import { makeFixtures, tempDir } from '../helpers/cli.js';
import { randomMatrix } from '../helpers/random.js';

const keras = makeFixtures('test/fixtures/make_keras.py');

async function checkShared(path: string, inputWidth: number, layer: string, moveAway: () => void): Promise<void> {
  const tf = await tfjs();
  const model = await openModel(path);
  const source = layersSourceOf(model);
  try {
    const x = tf.tensor(randomMatrix(16, inputWidth, 3), [16, inputWidth]);
    const a = await source.load();
    const expected = (a.model.predict(x) as import('@tensorflow/tfjs').Tensor).arraySync();
    // Later loads must not touch the file.
    moveAway();
    const b = await source.load();
    const c = await source.load();
    const kernel = a.model.getLayer(layer).getWeights();
    a.model.getLayer(layer).setWeights([tf.zerosLike(kernel[0]), ...kernel.slice(1)]);
    assert.notDeepEqual((a.model.predict(x) as import('@tensorflow/tfjs').Tensor).arraySync(), expected, 'the overwritten model changed');
    assert.deepEqual((b.model.predict(x) as import('@tensorflow/tfjs').Tensor).arraySync(), expected, 'another step\'s model did not');
    a.model.dispose();
    b.model.dispose();
    assert.deepEqual((c.model.predict(x) as import('@tensorflow/tfjs').Tensor).arraySync(), expected, 'nor does disposing two models break the third');
    c.model.dispose();
  } finally {
    await source.dispose();
    await model.close();
  }
}

test('a TF.js layers model is read once and every load is a model of its own', async () => {
  const dir = tempDir();
  for (const f of ['model.json', 'weights.bin']) copyFileSync(join('examples/digits', f), join(dir, f));
  await checkShared(join(dir, 'model.json'), 64, 'dense_1', () => renameSync(join(dir, 'weights.bin'), join(dir, 'moved.bin')));
});

test('a Keras file is read from HDF5 once and every load is a model of its own', async () => {
  const path = join(tempDir(), 'mlp.h5');
  copyFileSync(join(keras, 'mlp.h5'), path);
  await checkShared(path, 64, 'dense', () => renameSync(path, `${path}.moved`));
});
