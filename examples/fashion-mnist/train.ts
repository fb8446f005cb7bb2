// Trains the bundled example: a 784-512-256-10 Dense network on Fashion-MNIST (Debian
// package dataset-fashion-mnist), seeded, with @tensorflow/tfjs on the wasm backend.
// Writes model.json + weights.bin and test.npz (the 10 000 test images and labels) here.
// Run: npx tsx examples/fashion-mnist/train.ts   (takes a few minutes)
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { encodeNpz } from '../../core/io/npy.js';
import { saveLayersModel } from '../saveLayersModel.js';
import { shuffled } from '../shuffled.js';

const DATA = '/usr/share/datasets/fashion-mnist';
const OUT = fileURLToPath(new URL('.', import.meta.url));
const SEED = 42;
const EPOCHS = Number(process.env.EPOCHS ?? 10);

function idx(file: string, headerBytes: number): Uint8Array {
  return gunzipSync(readFileSync(`${DATA}/${file}`)).subarray(headerBytes);
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  const trainX = idx('train-images-idx3-ubyte.gz', 16), trainY = idx('train-labels-idx1-ubyte.gz', 8);
  const testX = idx('t10k-images-idx3-ubyte.gz', 16), testY = idx('t10k-labels-idx1-ubyte.gz', 8);
  const model = tf.sequential({ name: 'fashion_mlp' });
  model.add(tf.layers.rescaling({ inputShape: [784], scale: 1 / 255, offset: 0, name: 'rescale' }));
  model.add(tf.layers.dense({ units: 512, activation: 'relu', name: 'dense_1', kernelInitializer: tf.initializers.glorotUniform({ seed: SEED }) }));
  model.add(tf.layers.dense({ units: 256, activation: 'relu', name: 'dense_2', kernelInitializer: tf.initializers.glorotUniform({ seed: SEED + 1 }) }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax', name: 'logits', kernelInitializer: tf.initializers.glorotUniform({ seed: SEED + 2 }) }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const n = trainX.length / 784;
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    const perm = shuffled(n, SEED + epoch);
    const xs = new Float32Array(n * 784), ys = new Float32Array(n);
    for (let i = 0; i < n; i++) { const j = perm[i]; for (let k = 0; k < 784; k++) xs[i * 784 + k] = trainX[j * 784 + k]; ys[i] = trainY[j]; }
    const x = tf.tensor2d(xs, [n, 784]), y = tf.tensor1d(ys);
    const h = await model.fit(x, y, { batchSize: 128, epochs: 1, shuffle: false, verbose: 0 });
    x.dispose(); y.dispose();
    console.log(`epoch ${epoch + 1}/${EPOCHS}: loss ${Number(h.history.loss[0]).toFixed(4)} acc ${Number(h.history.acc[0]).toFixed(4)}`);
  }
  const tx = tf.tensor2d(Float32Array.from(testX), [testX.length / 784, 784]);
  const pred = (model.predict(tx) as tf.Tensor).argMax(-1).dataSync();
  let correct = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === testY[i]) correct++;
  console.log(`test accuracy ${(correct / pred.length * 100).toFixed(2)} %`);
  await saveLayersModel(model, OUT, { generatedBy: 'reducible examples/fashion-mnist/train.ts' });
  writeFileSync(`${OUT}/test.npz`, encodeNpz({
    x: { dtype: 'uint8', shape: [testX.length / 784, 784], data: testX.slice() },
    y: { dtype: 'uint8', shape: [testY.length], data: testY.slice() },
  }));
}

void main();
