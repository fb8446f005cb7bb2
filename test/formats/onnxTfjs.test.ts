// The ONNX graph run in TF.js (what fine-tuning trains) computes what onnxruntime computes from
// the same file: PyTorch's and hand-built exports, every operator it claims, on the same inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onnxProgram } from '../../core/formats/onnx/inTfjs.js';
import { onnxInputShape, runOnnx } from '../../core/formats/onnx/runtime.js';
import { tfjs } from '../../core/formats/tfjs/runtime.js';
import { readOnnx } from '../../core/formats/onnx/read.js';
import { InputError } from '../../core/types.js';
import { randomMatrix } from '../helpers/random.js';
import { fixture, INTERPRETER_CASES } from './onnxKit.js';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNpy } from '../../core/io/npy.js';
import { tempDir } from '../helpers/cli.js';

async function inTfjs(path: string, x: { data: Float32Array; shape: number[] }): Promise<Float32Array> {
  const tf = await tfjs();
  const model = await readOnnx(path);
  try {
    const program = await onnxProgram(model);
    const weights = new Map<string, import('@tensorflow/tfjs').Tensor>();
    for (const name of program.weights) weights.set(name, tf.tensor(await model.readTensor(name), model.tensor(name).shape));
    const out = tf.tidy(() => program.run(tf, tf.tensor(x.data, x.shape), (name) => weights.get(name)!));
    const data = out.dataSync() as Float32Array;
    tf.dispose([out, ...weights.values()]);
    return data;
  } finally {
    await model.close();
  }
}


for (const [what, path] of INTERPRETER_CASES) {
  test(`run in TF.js, ${what} computes what onnxruntime does`, async () => {
    const shape = (await onnxInputShape(path)).map((d, i) => (d > 0 ? d : i === 0 ? 6 : 1));
    const rows = shape[0], per = shape.slice(1).reduce((a, b) => a * b, 1);
    const x = { data: randomMatrix(rows, per, 3), shape };
    const ref = (await runOnnx(path, x)).data;
    const ours = await inTfjs(path, x);
    assert.equal(ours.length, ref.length);
    let num = 0, den = 0;
    for (let i = 0; i < ref.length; i++) { num += (ours[i] - ref[i]) ** 2; den += ref[i] ** 2; }
    assert.ok(Math.sqrt(num / den) < 1e-5, `relative difference ${Math.sqrt(num / den)}`);
  });
}

test('a graph with an operator TF.js does not run here is refused up front, naming the file and the operator', async () => {
  const model = await readOnnx(fixture('hardmax.onnx'));
  try {
    await assert.rejects(onnxProgram(model), (e: unknown) => e instanceof InputError && /hardmax\.onnx/.test(e.message) && /Hardmax \(node pick\)/.test(e.message));
  } finally {
    await model.close();
  }
});

test('compress --finetune of such a graph is refused before any work: no progress event comes before the error', () => {
  const dir = tempDir();
  const calibration = join(dir, 'x.npy');
  writeFileSync(calibration, encodeNpy({ dtype: 'float32', data: Float32Array.from(randomMatrix(64, 16, 5)), shape: [64, 16] }));
  const request = { model: fixture('hardmax.onnx'), goal: { ratio: 0.5 }, method: 'whitened', calibration, finetune: 10, out: join(dir, 'out.onnx') };
  const r = spawnSync(process.execPath, ['dist/cli.js', 'compress', '--job', '-'], { input: JSON.stringify(request), encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 2, r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; message?: string });
  assert.deepEqual(events.map((e) => e.type), ['error'], r.stdout);
  assert.match(events[0].message!, /hardmax\.onnx: fine-tuning runs the graph in TF\.js, .* not Hardmax \(node pick\)/);
});

test('split where the dense layers start: the frontier is the flattened features, and running from their values gives the whole graph\'s output', async () => {
  const tf = await tfjs();
  const model = await readOnnx('examples/fashion-cnn/model.onnx');
  try {
    const program = await onnxProgram(model);
    const weights = new Map<string, import('@tensorflow/tfjs').Tensor>();
    for (const name of program.weights) weights.set(name, tf.tensor(await model.readTensor(name), model.tensor(name).shape));
    const part = program.split(new Set(['net.dense_1.weight', 'net.logits.bias']));
    assert.deepEqual(part.frontier, ['/net/Reshape_1_output_0']);
    const [whole, fromFrontier, features] = tf.tidy(() => {
      const x = tf.tensor(randomMatrix(5, 784, 8), [5, 784]);
      const f = part.frontierValues(tf, x, (n) => weights.get(n)!)!;
      return [program.run(tf, x, (n) => weights.get(n)!), part.run(tf, new Map([[part.frontier[0], f[0]]]), (n) => weights.get(n)!), f[0]];
    });
    assert.deepEqual(features.shape, [5, 800]);
    assert.deepEqual(Array.from(fromFrontier.dataSync()), Array.from(whole.dataSync()));
    // Training the first convolution leaves only the input's scaling and reshape before it.
    assert.deepEqual(program.split(new Set(['net.conv_1.weight'])).frontier, ['/net/Reshape_output_0']);
    tf.dispose([whole, fromFrontier, features, ...weights.values()]);
  } finally {
    await model.close();
  }
});
