import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runOnnx } from '../../core/formats/onnx/runtime.js';
import { cli, tempDir } from '../helpers/cli.js';
import { randomMatrix } from '../helpers/random.js';
import { checkModel, fixture, relativeDifference } from './onnxKit.js';

test('reducible analyze / compress on an ONNX model (built CLI)', async () => {
  const dir = tempDir();
  const model = join(dir, 'cnn.onnx');
  copyFileSync(fixture('cnn.onnx'), model);
  const a = cli('analyze', model, '--json');
  assert.equal(a.code, 0, a.stderr);
  const analysis = JSON.parse(a.stdout);
  assert.equal(analysis.format, 'onnx');
  assert.deepEqual(analysis.layers.map((l: { kind: string }) => l.kind), ['conv2d', 'conv2d', 'conv2d', 'gemm', 'gemm']);

  const c = cli('compress', model, '--ratio', '0.5', '--dtype', 'int8', '--allow-deep-cuts', '--json');
  assert.equal(c.code, 0, c.stderr);
  const report = JSON.parse(c.stdout);
  const out = join(dir, 'cnn.reduced.onnx');
  assert.equal(report.output, out);
  assert.equal(report.compressedBytes, statSync(out).size);
  assert.ok(report.compressedBytes <= 1.02 * report.predictedBytes + 4096, `${report.compressedBytes} vs predicted ${report.predictedBytes}`);
  assert.ok(report.compressedParams <= 0.5 * report.originalParams + 1);
  assert.deepEqual(JSON.parse(readFileSync(`${out}.report.json`, 'utf8')).layers, report.layers);
  checkModel(out);
  const x = { data: randomMatrix(1, 3 * 8 * 8, 2), shape: [1, 3, 8, 8] };
  const [y0, y1] = [await runOnnx(model, x), await runOnnx(out, x)];
  assert.deepEqual(y1.shape, y0.shape);
  assert.ok(relativeDifference(y1.data, y0.data) < 1, 'a lossy but related output');
});
