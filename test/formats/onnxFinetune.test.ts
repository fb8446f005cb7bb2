// Fine-tuning an ONNX model writes what it trained back into the graph: the factors, and the
// biases (a Gemm's own, or the Add after a MatMul) under their own names at their stored precision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompressReport } from '../../core/compress/report.js';
import { encodeNpy } from '../../core/io/npy.js';
import { cli, tempDir } from '../helpers/cli.js';
import { randomMatrix } from '../helpers/random.js';
import { checkModel, describe, fixture } from './onnxKit.js';

const FLOAT16 = 10;

test('a float16 MatMul + Add model fine-tuned: the Add biases are trained and stored as float16, the factors too; the held-out output error falls; onnxruntime runs it', () => {
  const dir = tempDir();
  const source = fixture('mlp-f16.onnx');
  const npy = (name: string, n: number, seed: number): string => {
    const path = join(dir, name);
    writeFileSync(path, encodeNpy({ dtype: 'float32', shape: [n, 64], data: randomMatrix(n, 64, seed) }));
    return path;
  };
  const calib = npy('calib.npy', 2000, 1), heldout = npy('heldout.npy', 500, 2);
  const plan = join(dir, 'plan.json');
  writeFileSync(plan, JSON.stringify({ layers: { fc1: 5, fc2: 3 } }));
  const error = (extra: string[]): { report: CompressReport; error: number; out: string } => {
    const out = join(dir, `${extra.length ? 'tuned' : 'plain'}.onnx`);
    const r = cli('compress', source, '--ranks', plan, '--calibration', calib, '-o', out, '--json', ...extra);
    assert.equal(r.code, 0, r.stderr);
    checkModel(out);
    const e = cli('evaluate', source, out, '--inputs', heldout, '--json');
    assert.equal(e.code, 0, e.stderr);
    return { report: JSON.parse(r.stdout) as CompressReport, error: JSON.parse(e.stdout).relativeOutputError as number, out };
  };
  const plain = error([]), tuned = error(['--finetune', '200']);
  const ft = tuned.report.finetune!;
  assert.ok(!ft.discarded && ft.after.relativeOutputError < ft.before.relativeOutputError, JSON.stringify(ft));
  assert.ok(tuned.error < 0.9 * plain.error, `held-out output error: fine-tuned ${tuned.error} vs untrained ${plain.error}`);
  const [before, after] = [describe(source), describe(tuned.out)];
  for (const name of ['b1', 'b2']) {
    assert.notEqual(after.inits[name].sha, before.inits[name].sha, `${name} was not retrained`);
    assert.equal(after.inits[name].dtype, FLOAT16, name);
  }
  for (const name of ['W1_u', 'W1_v', 'W2_u', 'W2_v']) assert.equal(after.inits[name].dtype, FLOAT16, name);
  assert.notEqual(describe(plain.out).inits.W1_u.sha, after.inits.W1_u.sha, 'the factors were not trained');
});
