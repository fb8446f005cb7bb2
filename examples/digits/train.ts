// Trains the quality bench's third real model: a 64-256-256-10 Dense network (wider than the
// task needs, so compression has something to remove) on scikit-learn's bundled copy of the
// UCI handwritten digits (1 797 8×8 images, pixels 0..16), seeded, with @tensorflow/tfjs on
// the wasm backend. The split is stratified and fixed: 30 % of each class is test.
// Writes here: model.json + weights.bin, test.npz (test images `x` and labels `y`) and
// calib.npz (the unlabeled *training* images `x`, for whitening and distillation).
// Run: npx tsx examples/digits/train.ts   (needs Debian python3-sklearn's data file, or DIGITS_CSV)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { encodeNpz } from '../../core/io/npy.js';
import { saveLayersModel } from '../saveLayersModel.js';
import { shuffled } from '../shuffled.js';

const CSV = process.env.DIGITS_CSV ?? '/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';
const OUT = fileURLToPath(new URL('.', import.meta.url));
const SEED = 7;
const EPOCHS = Number(process.env.EPOCHS ?? 60);
const TEST_FRACTION = 0.3;
const PIXELS = 64;

/** Rows of 64 pixels then the label, as scikit-learn ships them. */
function readDigits(file: string): { x: Uint8Array; y: Uint8Array } {
  if (!existsSync(file)) throw new Error(`${file}: not found (apt-get install python3-sklearn, or set DIGITS_CSV to its datasets/data/digits.csv.gz)`);
  const rows = gunzipSync(readFileSync(file)).toString('utf8').trim().split('\n');
  const x = new Uint8Array(rows.length * PIXELS), y = new Uint8Array(rows.length);
  rows.forEach((row, i) => {
    const v = row.split(',').map(Number);
    if (v.length !== PIXELS + 1 || v.some((p) => !Number.isInteger(p) || p < 0 || p > 16)) throw new Error(`${file}: row ${i + 1} is not 64 pixels in 0..16 and a label`);
    x.set(v.slice(0, PIXELS), i * PIXELS);
    y[i] = v[PIXELS];
  });
  return { x, y };
}

/** Indices of the test rows: the first round(30 %) of each class in a seeded order. */
function stratifiedTest(y: Uint8Array): Set<number> {
  const counts = new Map<number, number>();
  for (const c of y) counts.set(c, (counts.get(c) ?? 0) + 1);
  const taken = new Map<number, number>(), test = new Set<number>();
  for (const i of shuffled(y.length, SEED)) {
    const t = taken.get(y[i]) ?? 0;
    if (t < Math.round(counts.get(y[i])! * TEST_FRACTION)) { test.add(i); taken.set(y[i], t + 1); }
  }
  return test;
}

function pick(x: Uint8Array, y: Uint8Array, rows: number[]): { x: Uint8Array; y: Uint8Array } {
  const px = new Uint8Array(rows.length * PIXELS), py = new Uint8Array(rows.length);
  rows.forEach((r, i) => { px.set(x.subarray(r * PIXELS, (r + 1) * PIXELS), i * PIXELS); py[i] = y[r]; });
  return { x: px, y: py };
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  const all = readDigits(CSV);
  const testRows = stratifiedTest(all.y);
  const rows = [...all.y.keys()];
  const train = pick(all.x, all.y, rows.filter((i) => !testRows.has(i)));
  const test = pick(all.x, all.y, rows.filter((i) => testRows.has(i)));
  const n = train.y.length;
  const model = tf.sequential({ name: 'digits_mlp' });
  model.add(tf.layers.rescaling({ inputShape: [PIXELS], scale: 1 / 16, offset: 0, name: 'rescale' }));
  model.add(tf.layers.dense({ units: 256, activation: 'relu', name: 'dense_1', kernelInitializer: tf.initializers.glorotUniform({ seed: SEED }) }));
  model.add(tf.layers.dense({ units: 256, activation: 'relu', name: 'dense_2', kernelInitializer: tf.initializers.glorotUniform({ seed: SEED + 1 }) }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax', name: 'logits', kernelInitializer: tf.initializers.glorotUniform({ seed: SEED + 2 }) }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    const batch = pick(train.x, train.y, [...shuffled(n, SEED + 1000 + epoch)]);
    const x = tf.tensor2d(Float32Array.from(batch.x), [n, PIXELS]), y = tf.tensor1d(Float32Array.from(batch.y));
    const h = await model.fit(x, y, { batchSize: 32, epochs: 1, shuffle: false, verbose: 0 });
    x.dispose(); y.dispose();
    if ((epoch + 1) % 10 === 0) console.log(`epoch ${epoch + 1}/${EPOCHS}: loss ${Number(h.history.loss[0]).toFixed(4)} acc ${Number(h.history.acc[0]).toFixed(4)}`);
  }
  const pred = (model.predict(tf.tensor2d(Float32Array.from(test.x), [test.y.length, PIXELS])) as tf.Tensor).argMax(-1).dataSync();
  const correct = test.y.filter((label, i) => pred[i] === label).length;
  console.log(`train ${n}, test ${test.y.length}: test accuracy ${(correct / test.y.length * 100).toFixed(2)} % (${correct}/${test.y.length})`);
  await saveLayersModel(model, OUT, { generatedBy: 'reducible examples/digits/train.ts' });
  writeFileSync(`${OUT}/test.npz`, encodeNpz({
    x: { dtype: 'uint8', shape: [test.y.length, PIXELS], data: test.x },
    y: { dtype: 'uint8', shape: [test.y.length], data: test.y },
  }));
  writeFileSync(`${OUT}/calib.npz`, encodeNpz({ x: { dtype: 'uint8', shape: [n, PIXELS], data: train.x } }));
}

void main();
