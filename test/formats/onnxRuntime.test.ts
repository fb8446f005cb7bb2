import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnxInputShape, runOnnx } from '../../core/formats/onnx/runtime.js';
import { InputError } from '../../core/types.js';
import { tempDir } from '../helpers/cli.js';
import { python } from '../helpers/python.js';
import { randomMatrix } from '../helpers/random.js';
import { fixture, relativeDifference } from './onnxKit.js';

/** The MLP fixtures' function, computed by numpy from the initializers python's onnx reads. */
const NUMPY_MLP = `
import sys, onnx, numpy as np
from onnx import numpy_helper as nh
w = {t.name: nh.to_array(t).astype(np.float32) for t in onnx.load(sys.argv[1]).graph.initializer}
x = np.frombuffer(sys.stdin.buffer.read(), dtype="<f4").reshape(-1, 64)
y = np.maximum(x @ w["W1"] + w["b1"], 0) @ w["W2"] + w["b2"]
sys.stdout.buffer.write(y.astype("<f4").tobytes())
`;

test('first input shape, dynamic dimensions as -1', async () => {
  assert.deepEqual(await onnxInputShape(fixture('mlp.onnx')), [-1, 64]);
  assert.deepEqual(await onnxInputShape(fixture('cnn.onnx')), [1, 3, 8, 8]);
});

test('runOnnx matches numpy on float32 and float16 models', async () => {
  const x = randomMatrix(7, 64, 3);
  for (const [name, tolerance] of [['mlp.onnx', 1e-6], ['mlp-f16.onnx', 5e-3]] as const) {
    const ref = python(NUMPY_MLP, new Uint8Array(x.buffer), [fixture(name)]);
    const expected = new Float32Array(ref.buffer.slice(ref.byteOffset, ref.byteOffset + ref.byteLength));
    const y = await runOnnx(fixture(name), { data: x, shape: [7, 64] });
    assert.deepEqual(y.shape, [7, 10]);
    assert.ok(relativeDifference(y.data, expected) <= tolerance, `${name}: ${relativeDifference(y.data, expected)}`);
  }
});

test('a model exported with a fixed batch of 1 is fed its inputs one at a time on one session; the rows stack back in order', async () => {
  const x = randomMatrix(3, 192, 5);
  const whole = await runOnnx(fixture('cnn.onnx'), { data: x, shape: [3, 3, 8, 8] });
  const rows = await Promise.all([0, 1, 2].map((i) => runOnnx(fixture('cnn.onnx'), { data: x.slice(i * 192, (i + 1) * 192), shape: [1, 3, 8, 8] })));
  assert.deepEqual(whole, { data: Float32Array.from(rows.flatMap((r) => [...r.data])), shape: [3, 10] });
});

test('a file onnxruntime cannot load is an InputError naming it', async () => {
  const bad = join(tempDir(), 'bad.onnx');
  writeFileSync(bad, 'not a model');
  await assert.rejects(onnxInputShape(bad), (e: unknown) => e instanceof InputError && e.message.startsWith(bad) && !e.message.includes('\n'));
});
