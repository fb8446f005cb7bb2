// Writes the TF.js layers model (model.json + weights.bin) of the small Fashion-MNIST CNN
// from the weights train.py saved in trained.npz, then checks its test accuracy in stock
// @tensorflow/tfjs on examples/fashion-mnist/test.npz (the same raw 784-pixel rows: the model
// rescales and reshapes them itself).
// Run: npx tsx examples/fashion-cnn/export.ts   (after train.py)
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { readArray, toFloat32 } from '../../core/io/npy.js';
import { saveLayersModel } from '../saveLayersModel.js';

const OUT = fileURLToPath(new URL('.', import.meta.url));

async function weight(key: string): Promise<tf.Tensor> {
  const a = await readArray(`${OUT}/trained.npz:${key}`);
  return tf.tensor(toFloat32(a), a.shape);
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  const model = tf.sequential({ name: 'fashion_cnn' });
  model.add(tf.layers.rescaling({ inputShape: [784], scale: 1 / 255, offset: 0, name: 'rescale' }));
  model.add(tf.layers.reshape({ targetShape: [28, 28, 1], name: 'image' }));
  model.add(tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', name: 'conv_1' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool_1' }));
  model.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', name: 'conv_2' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool_2' }));
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(tf.layers.dense({ units: 64, activation: 'relu', name: 'dense_1' }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax', name: 'logits' }));
  for (const name of ['conv_1', 'conv_2', 'dense_1', 'logits']) {
    model.getLayer(name).setWeights([await weight(`${name}_kernel`), await weight(`${name}_bias`)]);
  }
  const x = await readArray('examples/fashion-mnist/test.npz:x'), y = await readArray('examples/fashion-mnist/test.npz:y');
  const pred = (model.predict(tf.tensor(toFloat32(x), x.shape), { batchSize: 500 }) as tf.Tensor).argMax(-1).dataSync();
  let correct = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === y.data[i]) correct++;
  console.log(`test accuracy (tfjs) ${(correct / pred.length * 100).toFixed(2)} %, ${model.countParams()} parameters`);
  await saveLayersModel(model, OUT, { generatedBy: 'reducible examples/fashion-cnn/train.py + export.ts' });
}

void main();
