// Fine-tuning ONNX models in the PyTorch runner (formats/onnx/inTorch.ts, python/onnx_graph.py):
// the graph as PyTorch runs it computes what onnxruntime computes, for every case the TF.js
// interpreter is checked on; a fine-tuning in PyTorch starts where TF.js's starts, and the file
// it writes gives in onnxruntime the held-out fidelity it reported; where PyTorch cannot run,
// `auto` trains in TF.js and says why, `--engine torch` refuses in one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompressReport } from '../../core/compress/report.js';
import { graphMessage } from '../../core/formats/onnx/inTorch.js';
import { readOnnx } from '../../core/formats/onnx/read.js';
import { onnxInputShape, runOnnx } from '../../core/formats/onnx/runtime.js';
import { inputsFromFile } from '../../core/eval/evaluate.js';
import { encodeNpy } from '../../core/io/npy.js';
import { cli, tempDir } from '../helpers/cli.js';
import { randomMatrix } from '../helpers/random.js';
import { describe, fixture, INTERPRETER_CASES, relativeDifference } from './onnxKit.js';

const PY = '/usr/bin/python3';

async function inTorch(path: string, x: { data: Float32Array; shape: number[] }): Promise<Float32Array> {
  const dir = tempDir();
  const model = await readOnnx(path);
  try {
    const { graph, arrays } = await graphMessage(model);
    writeFileSync(join(dir, 'graph.json'), JSON.stringify({ graph, arrays: arrays.map(([name, a]) => [name, a.length]), shape: x.shape }));
    writeFileSync(join(dir, 'arrays.bin'), Buffer.concat(arrays.map(([, a]) => Buffer.from(new Float32Array(a).buffer))));
    writeFileSync(join(dir, 'x.bin'), Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength));
  } finally {
    await model.close();
  }
  const r = spawnSync(PY, [new URL('../helpers/onnx_graph_run.py', import.meta.url).pathname, ...['graph.json', 'arrays.bin', 'x.bin', 'y.bin'].map((f) => join(dir, f))], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const bytes = readFileSync(join(dir, 'y.bin'));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}


for (const [what, path] of [...INTERPRETER_CASES, ['Resize (nearest and linear) and ConvTranspose, which only PyTorch runs here', fixture('upsample.onnx')]]) {
  test(`run in PyTorch, ${what} computes what onnxruntime does`, async () => {
    const shape = (await onnxInputShape(path)).map((d, i) => (d > 0 ? d : i === 0 ? 6 : 1));
    const x = { data: randomMatrix(shape[0], shape.slice(1).reduce((a, b) => a * b, 1), 3), shape };
    const ref = (await runOnnx(path, x)).data;
    const ours = await inTorch(path, x);
    assert.equal(ours.length, ref.length);
    assert.ok(relativeDifference(ours, ref) < 1e-5, `relative difference ${relativeDifference(ours, ref)}`);
  });
}

/** The first `n` rows of the Fashion-MNIST calibration images, and the held-out tenth of them (distil.ts's heldOut), as .npy files. */
async function calibration(dir: string, n: number): Promise<{ calib: string; held: string }> {
  const x = await inputsFromFile('examples/fashion-mnist/calib.npz:x');
  const per = x.data.length / x.shape[0], held = Math.floor(n / 10);
  const write = (name: string, from: number, rows: number): string => {
    const path = join(dir, name);
    writeFileSync(path, encodeNpy({ dtype: 'float32', shape: [rows, per], data: x.data.slice(from * per, (from + rows) * per) }));
    return path;
  };
  return { calib: write('calib.npy', 0, n), held: write('held.npy', n - held, held) };
}

test('the Fashion-MNIST CNN (a convolution and a Gemm factorised) fine-tuned in PyTorch starts where TF.js starts; onnxruntime measures on the written file what was reported; dense layers and biases are trained', async () => {
  const dir = tempDir();
  const { calib, held } = await calibration(dir, 600);
  const model = 'examples/fashion-cnn/model.onnx';
  // A convolution and a Gemm factorised; the other convolution and the head left dense.
  const plan = join(dir, 'plan.json');
  writeFileSync(plan, JSON.stringify({ layers: { '/net/conv_2/Conv': 8, '/net/dense_1/Gemm': 16 } }));
  const compress = (name: string, ...extra: string[]): CompressReport => {
    const r = cli('compress', model, '--ranks', plan, '--calibration', calib, '-o', join(dir, name), '--json', ...extra);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as CompressReport;
  };
  const plain = compress('plain.onnx');
  const torch = compress('torch.onnx', '--finetune', '40').finetune!;
  const tfjs = compress('tfjs.onnx', '--finetune', '40', '--engine', 'embedded').finetune!;
  assert.match(torch.trainedIn ?? '', /^PyTorch \(CPU · torch /);
  assert.equal(tfjs.trainedIn, 'TF.js');
  assert.equal(tfjs.notInPyTorch, undefined);
  assert.equal(torch.before.top1Agreement, tfjs.before.top1Agreement);
  assert.ok(Math.abs(torch.before.relativeOutputError - tfjs.before.relativeOutputError) < 1e-5 * tfjs.before.relativeOutputError, `${torch.before.relativeOutputError} vs ${tfjs.before.relativeOutputError}`);
  assert.ok(!torch.discarded && torch.after.relativeOutputError < torch.before.relativeOutputError, JSON.stringify(torch));
  const e = cli('evaluate', model, join(dir, 'torch.onnx'), '--inputs', held, '--json');
  assert.equal(e.code, 0, e.stderr);
  const measured = JSON.parse(e.stdout) as { top1Agreement: number; relativeOutputError: number };
  assert.equal(measured.top1Agreement, torch.after.top1Agreement);
  assert.ok(Math.abs(measured.relativeOutputError - torch.after.relativeOutputError) < 1e-4 * torch.after.relativeOutputError, `${measured.relativeOutputError} vs ${torch.after.relativeOutputError}`);
  // Every bias and the layers left dense were trained too, as in TF.js.
  const [untrained, trained] = [describe(join(dir, 'plain.onnx')), describe(join(dir, 'torch.onnx'))];
  const kept = Object.keys(untrained.inits).filter((name) => name in trained.inits && !/_u$|_v$/.test(name));
  assert.ok(kept.length >= 6, JSON.stringify(kept));
  for (const name of Object.keys(untrained.inits).filter((n) => /_u$|_v$/.test(n))) assert.notEqual(trained.inits[name].sha, untrained.inits[name].sha, `${name} was not trained`);
  for (const name of kept) assert.notEqual(trained.inits[name].sha, untrained.inits[name].sha, `${name} was not trained`);
  assert.equal(plain.finetune, undefined);
});

test('without a working PyTorch, fine-tuning runs in TF.js and says why; --engine torch refuses in one line naming the interpreter', async () => {
  const dir = tempDir();
  const { calib } = await calibration(dir, 300);
  const args = ['compress', 'examples/fashion-cnn/model.onnx', '--ratio', '0.5', '--calibration', calib, '--finetune', '5', '--python', '/nonexistent/python3', '--allow-deep-cuts'];
  const auto = cli(...args, '-o', join(dir, 'auto.onnx'), '--json');
  assert.equal(auto.code, 0, auto.stderr);
  const ft = (JSON.parse(auto.stdout) as CompressReport).finetune!;
  assert.equal(ft.trainedIn, 'TF.js');
  assert.match(ft.notInPyTorch ?? '', /nonexistent\/python3/);
  const forced = cli(...args, '-o', join(dir, 'forced.onnx'), '--engine', 'torch');
  assert.notEqual(forced.code, 0);
  assert.equal(forced.stderr.trim().split('\n').length, 1, forced.stderr);
  assert.match(forced.stderr, /nonexistent\/python3/);
});
