// ONNX candidates are judged on every output of the model, as TF.js graph candidates are
// (fidelity.ts's outputsFidelity): two-outputs.onnx (make_onnx.py) has a first output "score"
// that no factorisable layer feeds and a second "y" = Relu(x·Wb1)·Wb2 that head1 and head2
// feed alone. Judged on the first output, both heads looked free.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompressReport } from '../../core/compress/report.js';
import { onnx } from '../../core/formats/onnx/format.js';
import { readOnnx } from '../../core/formats/onnx/read.js';
import { runOnnx } from '../../core/formats/onnx/runtime.js';
import { encodeNpy } from '../../core/io/npy.js';
import { cli, tempDir } from '../helpers/cli.js';
import { python } from '../helpers/python.js';
import { randomMatrix } from '../helpers/random.js';
import { compressOnnx, fixture, numpyFactors } from './onnxKit.js';

const MODEL = fixture('two-outputs.onnx');
const N = 64;
const x = { data: randomMatrix(N, 32, 41), shape: [N, 32] };
const PROBE_RANK: Record<string, number> = { head1: 4, head2: 2 };

/**
 * numpy's gain of `head` approximated by a·b alone: the mean over both outputs of ‖Δy‖²/‖y‖²
 * (the first output's term is 0: the head does not feed it), per unit of discarded energy.
 */
function numpyGain(head: string, a: Float32Array, b: Float32Array, rank: number, discarded: number): number {
  const buf = new Float32Array([...x.data, ...a, ...b]);
  const out = python(
    'import sys,numpy as np,onnx\nfrom onnx import numpy_helper\n'
    + 'w={t.name:numpy_helper.to_array(t).astype(np.float64) for t in onnx.load(sys.argv[1]).graph.initializer}\n'
    + 'head,k,n=sys.argv[2],int(sys.argv[3]),int(sys.argv[4]);v=np.frombuffer(sys.stdin.buffer.read(),dtype="<f4").astype(np.float64)\n'
    + 'x=v[:n*32].reshape(n,32);name={"head1":"Wb1","head2":"Wb2"}[head];m,c=w[name].shape\n'
    + 'a=v[n*32:n*32+m*k].reshape(m,k);b=v[n*32+m*k:].reshape(k,c);approx=dict(w);approx[name]=a@b\n'
    + 'y=lambda w:np.maximum(x@w["Wb1"],0)@w["Wb2"]\n'
    + 'r=np.sum((y(w)-y(approx))**2)/np.sum(y(w)**2)/2\n'
    + 'sys.stdout.write(repr(r))',
    new Uint8Array(buf.buffer), [MODEL, head, String(rank), String(N)],
  );
  return Number(out.toString()) / discarded;
}

test('two outputs: a layer feeding only the second has its sensitivity measured (0 judged on the first output)', async () => {
  const model = await readOnnx(MODEL);
  const runner = onnx.runner!(model, { out: join(tempDir(), 'out.onnx') });
  try {
    const probes = [];
    for (const name of ['head1', 'head2']) {
      const layer = model.layers.find((l) => l.name === name)!;
      const factors = numpyFactors(await model.readMatrix(layer), layer, PROBE_RANK[name]);
      // Eckart–Young: the relative error of the truncated SVD is the discarded energy share's root.
      probes.push({ factors, discarded: factors.relativeError ** 2 });
    }
    const gains = await runner.sensitivity(probes, x, {});
    for (const p of probes) {
      const name = p.factors.layer.name;
      const expected = numpyGain(name, p.factors.a, p.factors.b, PROBE_RANK[name], p.discarded);
      const got = gains.get(name)!;
      assert.ok(expected > 0.05, `${name}: numpy gain ${expected}`);
      assert.ok(Math.abs(got - expected) <= 1e-3 * expected, `${name}: onnxruntime gain ${got}, numpy ${expected}`);
    }
  } finally {
    await runner.dispose();
    await model.close();
  }
  // What judging on the first output saw: head1 factorised leaves it bit for bit as it was.
  const { out } = await compressOnnx(MODEL, (l) => PROBE_RANK[l.name] ?? 1, undefined, ['head1']);
  const [before, after] = [await runOnnx(MODEL, x), await runOnnx(out, x)];
  assert.deepEqual(after.data, before.data);
});

test('two outputs: the whitened/plain guard measures the second output\'s error (was 0 on the first)', () => {
  const dir = tempDir();
  const calib = join(dir, 'calib.npy');
  writeFileSync(calib, encodeNpy({ dtype: 'float32', shape: [300, 32], data: randomMatrix(300, 32, 42) }));
  const r = cli('compress', MODEL, '--ratio', '0.5', '--allow-deep-cuts', '--method', 'whitened', '--calibration', calib, '-o', join(dir, 'out.onnx'), '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as CompressReport;
  // Only head1 (32×48) pays to factorise at this ratio; it feeds only the second output.
  assert.deepEqual(report.layers.map((l) => l.name), ['head1']);
  const choice = report.methodChoice!;
  // The error is the mean over both outputs, the first's 0: the second's ‖Δy‖/‖y‖ is √2 times it.
  assert.ok(choice.svd.relativeOutputError > 1e-2 && choice.whitened.relativeOutputError > 1e-3, JSON.stringify(choice));
});
