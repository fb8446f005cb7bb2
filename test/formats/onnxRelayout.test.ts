// `--method relayout` on ONNX: the DeepThin re-layout written with standard operators. Checked
// against a dense model numpy builds with the weight the written factors encode, and against
// numpy's own errors for the auxiliary matrix and for plain SVD at the same parameters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { CompressReport } from '../../core/compress/report.js';
import { onnxInputShape, runOnnx } from '../../core/formats/onnx/runtime.js';
import { cli, tempDir } from '../helpers/cli.js';
import { python } from '../helpers/python.js';
import { randomMatrix } from '../helpers/random.js';
import { checkModel, fixture, relativeDifference } from './onnxKit.js';

/** For each re-laid-out weight: numpy's errors, keyed p×q@k; writes the dense model with W' = (U·V) re-laid out. */
const NUMPY = `
import sys, json, numpy as np, onnx
from onnx import numpy_helper as nh
src, out, dense = sys.argv[1:4]
m, c = onnx.load(src), onnx.load(out)
written = {t.name: nh.to_array(t).astype(np.float64) for t in c.graph.initializer}
facts = {}
for t in m.graph.initializer:
    u, v = written.get(t.name + "_relayout_u"), written.get(t.name + "_relayout_v")
    if u is None:
        continue
    w = nh.to_array(t).astype(np.float64)
    (p, k), q = u.shape, v.shape[1]
    aux = np.zeros(p * q); aux[:w.size] = w.ravel()
    approx = (u @ v).ravel()
    sigma = np.linalg.svd(w.reshape(w.shape[0], -1), compute_uv=False)
    k_plain = (k * (p + q)) // (w.shape[0] + w.size // w.shape[0])
    facts[f"{p}x{q}@{k}"] = {
        "relativeError": float(np.linalg.norm(aux - approx) / np.linalg.norm(w)),
        "plainRelativeError": float(np.sqrt(np.sum(sigma[k_plain:] ** 2)) / np.linalg.norm(w)),
    }
    t.CopyFrom(nh.from_array(approx[:w.size].reshape(w.shape).astype(np.float32), t.name))
onnx.save(m, dense)
print(json.dumps(facts))
`;

test('--method relayout: MatMul, Gemm and Conv weights rebuilt in the graph from k·(p+q) values; the model runs as the dense one with that weight', async () => {
  for (const name of ['mlp.onnx', 'gemm.onnx', 'cnn.onnx']) {
    const dir = tempDir();
    const out = join(dir, 'relaid.onnx');
    const r = cli('compress', fixture(name), '--ratio', '0.5', '--method', 'relayout', '-o', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as CompressReport;
    assert.equal(report.method, 'relayout');
    assert.ok(report.layers.length > 0 && report.layers.every((l) => l.layout), `${name}: ${JSON.stringify(report.layers)}`);
    assert.ok(report.compressedParams <= 0.5 * report.originalParams, `${name} keeps ${report.compressedParams} of ${report.originalParams}`);
    checkModel(out);

    const dense = join(dir, 'dense.onnx');
    const facts = JSON.parse(python(NUMPY, undefined, [fixture(name), out, dense]).toString()) as Record<string, { relativeError: number; plainRelativeError: number }>;
    assert.equal(Object.keys(facts).length, report.layers.length, name);
    for (const l of report.layers) {
      const f = facts[`${l.layout!.p}x${l.layout!.q}@${l.rank}`];
      assert.ok(f, `${name} ${l.name}: no factors found for it`);
      assert.ok(Math.abs(f.relativeError - l.relativeError) <= 1e-4, `${name} ${l.name}: error ${l.relativeError} vs numpy ${f.relativeError}`);
      assert.ok(Math.abs(f.plainRelativeError - l.layout!.plainRelativeError) <= 1e-4, `${name} ${l.name}: plain ${l.layout!.plainRelativeError} vs numpy ${f.plainRelativeError}`);
    }
    const shape = (await onnxInputShape(out)).map((d) => (d < 0 ? 3 : d));
    const x = { data: randomMatrix(1, shape.reduce((a, b) => a * b, 1), 5), shape };
    const [a, b] = await Promise.all([runOnnx(dense, x), runOnnx(out, x)]);
    assert.ok(relativeDifference(b.data, a.data) <= 1e-5, `${name}: output differs from the dense model's by ${relativeDifference(b.data, a.data)}`);
  }
});

test('--method relayout is refused where the format cannot express it, in one line', () => {
  const r = cli('compress', 'examples/fashion-mnist/model.json', '--ratio', '0.5', '--method', 'relayout', '-o', join(tempDir(), 'x.json'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--method relayout is written for ONNX models only \(this is tfjs-layers/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  const old = cli('compress', fixture('mlp-opset9.onnx'), '--ratio', '0.5', '--method', 'relayout', '-o', join(tempDir(), 'x.onnx'));
  assert.equal(old.code, 2);
  assert.match(old.stderr, /Slice with inputs \(opset 10\)/);
});
