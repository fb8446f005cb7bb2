// Held-out choices in a compression job (whitened or plain factors, the distillation
// temperature, keeping trained weights) share one rule, and the student they judge is in the
// same (logit) form as its teacher even when the softmax output layer itself is factorised.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { better } from '../../core/compress/fidelity.js';
import { tensorFidelity } from '../../core/compress/distil.js';
import { loadTeacher, studentOf } from '../../core/runners/tfjsFinetune.js';
import { layersSourceOf } from '../helpers/layersSource.js';
import { factorize, ownCopy } from '../../core/compress/factorize.js';
import { createEngine } from '../../core/engines/select.js';
import { tfjs } from '../../core/formats/tfjs/runtime.js';
import { openModel } from '../../core/formats/open.js';
import { rewriteTopology } from '../../core/formats/tfjs/layersWriter.js';
import { lowRankMlp } from '../fixtures/tfjsModels.js';
import { tempDir } from '../helpers/cli.js';
import { randomMatrix } from '../helpers/random.js';

test('a classifier is judged by top-1 agreement where it differs beyond noise, otherwise by output error; anything else by output error', () => {
  const f = (top1Agreement: number, relativeOutputError: number, samples = 10000) => ({ top1Agreement, relativeOutputError, samples });
  // 600 against 700 disagreements: 100 apart, beyond two standard errors (2·√1300 ≈ 72).
  assert.equal(better(f(0.94, 0.21), f(0.93, 0.20), true), true);
  assert.equal(better(f(0.93, 0.20), f(0.94, 0.21), true), false);
  // The same rates on 100 inputs: 6 against 7 disagreements is noise, so the output error decides.
  assert.equal(better(f(0.94, 0.21, 100), f(0.93, 0.20, 100), true), false);
  assert.equal(better(f(0.93, 0.20, 100), f(0.94, 0.21, 100), true), true);
  // 20 apart out of 10 000 (2·√220 ≈ 30): noise too.
  assert.equal(better(f(0.99, 0.11), f(0.988, 0.10), true), false);
  assert.equal(better(f(0.94, 0.20), f(0.94, 0.21), true), true);
  assert.equal(better(f(0.94, 0.21), f(0.94, 0.21), true), false);
  assert.equal(better(f(0.93, 0.20), f(0.94, 0.21), false), true);
});

test('a factorised softmax output layer is trained and judged on its logits, like the teacher', async () => {
  const path = await lowRankMlp(tempDir(), 4);
  const model = await openModel(path);
  const engine = await createEngine('embedded');
  const source = layersSourceOf(model);
  const t = await loadTeacher(source);
  try {
    const f = await factorize(model, model.layers.find((l) => l.name === 'out')!, 5, engine, {}, ownCopy);
    const factors = new Map([['out', f]]);
    const topology = rewriteTopology(source.topology, factors, path);
    const student = await studentOf(t, topology, factors);
    const tf = await tfjs();
    const x = tf.tensor2d(randomMatrix(64, 40, 5), [64, 40]);
    const [s, logits] = [student.predict(x), t.teacherLogits.predict(x)] as import('@tensorflow/tfjs').Tensor[];
    // Probabilities are never negative; logits of a random head are, and track the teacher's.
    assert.ok(s.min().dataSync()[0] < 0, 'student outputs probabilities, not logits');
    const rel = tf.norm(tf.sub(s, logits)).dataSync()[0] / tf.norm(logits).dataSync()[0];
    assert.ok(rel < 0.9, `student logits far from the teacher's: ${rel}`);
    tf.dispose([x, s, logits]);
    student.dispose();
  } finally {
    t.dispose();
    await source.dispose();
    await engine.close();
    await model.close();
  }
});

test('sequence scores agree as a share of their steps: [inputs, steps, classes]', async () => {
  const tf = await tfjs();
  // Two inputs of three steps over four classes; the student's top class differs at one step of the six.
  const teacher = tf.tensor3d([[[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], [[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0]]]);
  const student = tf.tensor3d([[[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], [[0, 0, 1, 0], [0, 0, 2, 0], [1, 0, 0, 0]]]);
  const f = tensorFidelity(tf, teacher, student);
  assert.equal(f.top1Agreement, 5 / 6);
  assert.equal(f.samples, 2);
  tf.dispose([teacher, student]);
});
