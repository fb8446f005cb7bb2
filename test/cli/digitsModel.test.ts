// The quality bench's third real model (examples/digits, trained by its train.ts): the
// committed files load in stock @tensorflow/tfjs and score exactly the test accuracy its
// README records on the committed test set; the data files are what the README says; and
// on this model, too, whitening keeps far more accuracy than plain SVD at 10 % of params.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readArray, toFloat32 } from '../../core/io/npy.js';
import { cli, tempDir } from '../helpers/cli.js';

const EX = 'examples/digits';
tf.env().set('PROD', true); // no tfjs-node advert in the test output

async function loadStock(): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(join(EX, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const [group] = json.weightsManifest;
  const bin = readFileSync(join(EX, group.paths[0]));
  return tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: group.weights,
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
  }));
}

test('the committed digits model scores the README\'s test accuracy in stock tfjs', async () => {
  const recorded = /Test accuracy: ([\d.]+) % \((\d+) of (\d+)\)/.exec(readFileSync(join(EX, 'README.md'), 'utf8'));
  assert.ok(recorded, 'README records the test accuracy');
  const [x, y] = await Promise.all([readArray(`${EX}/test.npz:x`), readArray(`${EX}/test.npz:y`)]);
  assert.deepEqual([x.dtype, x.shape, y.dtype, y.shape], ['uint8', [Number(recorded[3]), 64], 'uint8', [Number(recorded[3])]]);
  const model = await loadStock();
  const pred = tf.tidy(() => (model.predict(tf.tensor2d(toFloat32(x), x.shape as [number, number])) as tf.Tensor).argMax(-1).dataSync());
  model.dispose();
  const correct = (y.data as Uint8Array).filter((label, i) => pred[i] === label).length;
  assert.equal(correct, Number(recorded[2]));
  assert.equal((correct / y.shape[0] * 100).toFixed(2), recorded[1]);
});

test('the digits test split is stratified and the calibration set is the rest, unlabeled', async () => {
  const [y, calib] = await Promise.all([readArray(`${EX}/test.npz:y`), readArray(`${EX}/calib.npz:x`)]);
  const perClass = Array.from({ length: 10 }, (_, c) => (y.data as Uint8Array).filter((v) => v === c).length);
  assert.ok(perClass.every((n) => n >= 52 && n <= 55), `test images per class: ${perClass}`);
  assert.deepEqual([calib.dtype, calib.shape], ['uint8', [1797 - y.shape[0], 64]]);
  assert.ok((calib.data as Uint8Array).every((p) => p <= 16), 'raw 0..16 pixels');
});

test('digits at --ratio 0.1: whitened SVD keeps far more accuracy than plain SVD', () => {
  const dir = tempDir();
  const accuracy = (name: string, ...args: string[]): number => {
    const out = join(dir, `${name}.json`);
    const c = cli('compress', `${EX}/model.json`, '--ratio', '0.1', '-o', out, ...args);
    assert.equal(c.code, 0, c.stderr);
    const r = cli('evaluate', `${EX}/model.json`, out, '--inputs', `${EX}/test.npz:x`, '--labels', `${EX}/test.npz:y`, '--json');
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { compressed: { accuracy: number } }).compressed.accuracy;
  };
  const plain = accuracy('plain', '--allow-deep-cuts');
  const whitened = accuracy('whitened', '--method', 'whitened', '--calibration', `${EX}/calib.npz:x`);
  assert.ok(whitened > plain + 0.05, `whitened ${whitened} vs plain ${plain}`);
});
