import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readOnnx } from '../../core/formats/onnx/read.js';
import { lengthPrefix } from '../../core/formats/containers/protobuf.js';
import { singularValues } from '../../core/linalg/singularValues.js';
import { InputError } from '../../core/types.js';
import { tempDir } from '../helpers/cli.js';
import { rng } from '../helpers/random.js';
import { python } from '../helpers/python.js';
import { fixture } from './onnxKit.js';

const summary = async (name: string): Promise<Record<string, unknown>[]> => {
  const m = await readOnnx(fixture(name));
  await m.close();
  return m.layers.map((l) => ({ name: l.name, kind: l.kind, shape: l.shape, rows: l.matrix.rows, cols: l.matrix.cols, transposed: l.transposed, factorisable: l.factorisable, weight: l.weight, bias: l.bias, dtype: l.dtype }));
};

test('CNN from torch.onnx.export: Conv and Gemm(transB=1) layers, grouped conv not factorisable', async () => {
  assert.deepEqual(await summary('cnn.onnx'), [
    { name: '/conv1/Conv', kind: 'conv2d', shape: [8, 3, 3, 3], rows: 27, cols: 8, transposed: true, factorisable: true, weight: 'conv1.weight', bias: 'conv1.bias', dtype: 'float32' },
    { name: '/conv2/Conv', kind: 'conv2d', shape: [16, 8, 3, 3], rows: 72, cols: 16, transposed: true, factorisable: true, weight: 'conv2.weight', bias: 'conv2.bias', dtype: 'float32' },
    { name: '/grouped/Conv', kind: 'conv2d', shape: [16, 4, 3, 3], rows: 36, cols: 16, transposed: true, factorisable: false, weight: 'grouped.weight', bias: 'grouped.bias', dtype: 'float32' },
    { name: '/fc1/Gemm', kind: 'gemm', shape: [32, 256], rows: 256, cols: 32, transposed: true, factorisable: true, weight: 'fc1.weight', bias: 'fc1.bias', dtype: 'float32' },
    { name: '/fc2/Gemm', kind: 'gemm', shape: [10, 32], rows: 32, cols: 10, transposed: true, factorisable: true, weight: 'fc2.weight', bias: 'fc2.bias', dtype: 'float32' },
  ]);
});

test('MatMul, Gemm transB=0/1, Constant-node and float16 weights', async () => {
  const pick = (ls: Record<string, unknown>[]): unknown[] => ls.map((l) => [l.name, l.kind, l.rows, l.cols, l.transposed, l.dtype, l.weight]);
  assert.deepEqual(pick(await summary('mlp.onnx')), [['fc1', 'matmul', 64, 48, false, 'float32', 'W1'], ['fc2', 'matmul', 48, 10, false, 'float32', 'W2']]);
  assert.deepEqual(pick(await summary('mlp-f16.onnx')), [['fc1', 'matmul', 64, 48, false, 'float16', 'W1'], ['fc2', 'matmul', 48, 10, false, 'float16', 'W2']]);
  assert.deepEqual(pick(await summary('gemm.onnx')), [['gemm1', 'gemm', 40, 32, true, 'float32', 'G1'], ['gemm2', 'gemm', 32, 12, false, 'float32', 'G2']]);
  assert.deepEqual(pick(await summary('constant.onnx')), [['proj', 'matmul', 20, 16, false, 'float32', 'CW']]);
  // A MatMul's bias is what the one Add reading its output adds (tf2onnx's Dense); Gemm's is C.
  assert.deepEqual((await summary('mlp.onnx')).map((l) => l.bias), ['b1', 'b2']);
  assert.deepEqual((await summary('gemm.onnx')).map((l) => l.bias), ['c1', 'c2']);
});

test('external data: the data file counts as part of the model', async () => {
  const m = await readOnnx(fixture('external.onnx'));
  await m.close();
  assert.deepEqual(m.files, [fixture('external.onnx'), fixture('external.onnx.data')]);
  assert.equal(m.fileBytes, statSync(fixture('external.onnx')).size + statSync(fixture('external.onnx.data')).size);
  assert.equal(m.totalParams, 64 * 48 + 48 + 48 * 10 + 10);
});

const REFERENCE = `
import sys, json, onnx, numpy as np
from onnx import numpy_helper as nh
m = onnx.load(sys.argv[1])
w = {t.name: nh.to_array(t) for t in m.graph.initializer}
w.update({n.output[0]: nh.to_array(a.t) for n in m.graph.node if n.op_type == "Constant" for a in n.attribute if a.name == "value"})
out = {}
for n in m.graph.node:
    if n.op_type not in ("MatMul", "Gemm", "Conv") or n.input[1] not in w: continue
    x = w[n.input[1]].astype(np.float64)
    if n.op_type == "Conv": x = x.reshape(x.shape[0], -1).T
    if n.op_type == "Gemm" and any(a.name == "transB" and a.i == 1 for a in n.attribute): x = x.T
    out[n.input[1]] = {"values": x.ravel().tolist(), "sv": np.linalg.svd(x, compute_uv=False).tolist()}
print(json.dumps(out))
`;

test('matrix views and singular values agree with numpy on the same initializers', async () => {
  for (const name of ['cnn.onnx', 'gemm.onnx', 'constant.onnx', 'mlp-f16.onnx', 'external.onnx']) {
    const ref = JSON.parse(python(REFERENCE, undefined, [fixture(name)]).toString()) as Record<string, { values: number[]; sv: number[] }>;
    const m = await readOnnx(fixture(name));
    try {
      assert.equal(m.layers.length, Object.keys(ref).length, name);
      for (const l of m.layers) {
        const v = await m.readMatrix(l);
        const r = ref[l.weight];
        assert.deepEqual(Array.from(v), r.values.map(Math.fround), `${name} ${l.name} values`);
        const sv = singularValues(v, l.matrix.rows, l.matrix.cols);
        assert.equal(sv.length, r.sv.length);
        sv.forEach((s, i) => assert.ok(Math.abs(s - r.sv[i]) <= 1e-4 * r.sv[0], `${name} ${l.name} σ[${i}] ${s} vs ${r.sv[i]}`));
      }
    } finally {
      await m.close();
    }
  }
});

test('initializers bigger than a read window: located on disk without being read, values as numpy wrote them', async () => {
  // 700×600 f32 is 1.6 MiB, over the reader's 1 MiB window; a small initializer and a
  // Constant-node weight after it.
  const dir = tempDir();
  const model = join(dir, 'big.onnx');
  const raw = python(`
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
rng = np.random.default_rng(3)
w0 = rng.standard_normal((700, 600)).astype(np.float32)
w1 = rng.standard_normal((600, 20)).astype(np.float32)
w2 = rng.standard_normal((20, 600)).astype(np.float32)
c = helper.make_node("Constant", [], ["w2"], value=numpy_helper.from_array(w2, "w2v"))
g = helper.make_graph([helper.make_node("MatMul", ["x", "w0"], ["h"]), helper.make_node("MatMul", ["h", "w1"], ["y"]), c,
                       helper.make_node("MatMul", ["y", "w2"], ["z"])], "g",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 700])], [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 600])],
                      [numpy_helper.from_array(w0, "w0"), numpy_helper.from_array(w1, "w1")])
onnx.save(helper.make_model(g), sys.argv[1])
sys.stdout.buffer.write(w0.tobytes() + w1.tobytes() + w2.tobytes())`, undefined, [model]);
  const ref = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const m = await readOnnx(model);
  try {
    assert.deepEqual(m.layers.map((l) => [l.weight, l.matrix.rows, l.matrix.cols]), [['w0', 700, 600], ['w1', 600, 20], ['w2', 20, 600]]);
    let at = 0;
    for (const l of m.layers) {
      const n = l.matrix.rows * l.matrix.cols;
      assert.deepEqual(await m.readMatrix(l), ref.subarray(at, at + n), l.weight);
      at += n;
    }
  } finally {
    await m.close();
  }
});

async function assertRefused(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(readOnnx(path), (e: unknown) => {
    assert.ok(e instanceof InputError, `InputError for ${path}: ${e}`);
    assert.ok(e.message.startsWith(path), e.message);
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.match(e.message, pattern);
    return true;
  });
}

test('hostile files are refused with an InputError naming the file', async () => {
  const dir = tempDir();
  const put = (name: string, bytes: Uint8Array | string): string => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
  const good = readFileSync(fixture('mlp.onnx'));
  await assertRefused(put('empty.onnx', ''), /no graph/);
  await assertRefused(put('text.onnx', 'hello, this is not a model'), /not a valid ONNX model/);
  await assertRefused(put('truncated.onnx', good.subarray(0, good.length - 300)), /not a valid ONNX model.*past the end/);
  // A graph field whose length prefix claims 2 GB in a 20-byte file.
  const lying = Buffer.concat([Buffer.from([0x08, 0x07]), lengthPrefix(7, 2 ** 31), Buffer.alloc(12)]);
  await assertRefused(put('lying.onnx', lying), /past the end/);
  await assertRefused(fixture('raw-lie.onnx'), /tensor W1: raw_data holds 12288 bytes but shape and dtype need 1228800/);
  await assertRefused(fixture('ext-parent.onnx'), /external data path "\.\.\/external\.onnx\.data" points outside the model folder/);
  await assertRefused(fixture('ext-absolute.onnx'), /points outside the model folder/);
  await assertRefused(fixture('ext-short.onnx'), /tensor W1: external data external\.onnx\.data/);
});

test('corrupted bytes: every truncation or flipped byte reads or fails with an InputError', async () => {
  const dir = tempDir();
  const good = readFileSync(fixture('cnn.onnx'));
  const rand = rng(7);
  for (let i = 0; i < 300; i++) {
    const bad = Buffer.from(good);
    if (i % 3 === 0) bad[Math.floor(rand() * bad.length)] = Math.floor(rand() * 256);
    const bytes = i % 3 === 1 ? bad.subarray(0, Math.floor(rand() * bad.length)) : bad;
    if (i % 3 === 2) for (let j = 0; j < 4; j++) bad[Math.floor(rand() * 2000)] = Math.floor(rand() * 256);
    const path = join(dir, `fuzz${i}.onnx`);
    writeFileSync(path, bytes);
    try {
      const m = await readOnnx(path);
      for (const l of m.layers) await m.readMatrix(l);
      await m.close();
    } catch (e) {
      assert.ok(e instanceof InputError, `case ${i}: ${(e as Error).stack}`);
    }
  }
});
