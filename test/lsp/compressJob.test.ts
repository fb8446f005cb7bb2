// The extension's CLI jobs (client/compressJob.ts) driving the real CLI through its typed
// contract (`compress --job -`, shared/jobProtocol.ts): a plan goes in the request, progress
// arrives, an existing output is refused with code 'output-exists' until forced, cancelling
// kills the job with nothing left behind, and the evaluation the panel shows is evaluate()'s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { JobError, runCompress, runEvaluate } from '../../client/compressJob.js';
import { evaluate } from '../../core/eval/evaluate.js';
import { encodeNpz } from '../../core/io/npy.js';
import { lowRankMlp } from '../fixtures/tfjsModels.js';
import { makeFixtures, tempDir } from '../helpers/cli.js';
import { randomMatrix } from '../helpers/random.js';

const CLI = resolve('dist/cli.js');
const fixtures = makeFixtures('test/fixtures/make_safetensors.py');
const onnxFixtures = makeFixtures('test/fixtures/make_onnx.py');

test('a plan runs in the request; progress is reported; an existing output needs force', async () => {
  const dir = tempDir();
  const model = join(dir, 'mlp.safetensors');
  copyFileSync(join(fixtures, 'mlp-float32.safetensors'), model);
  const fractions: number[] = [];
  const report = await runCompress(CLI, { model, goal: { ranks: { fc1: 16, fc2: 8 } } }, { progress: (f) => fractions.push(f) });
  assert.equal(report.output, join(dir, 'mlp.reduced.safetensors'));
  assert.ok(existsSync(report.output) && existsSync(`${report.output}.report.json`));
  assert.deepEqual(report.layers.map((l) => [l.name, l.rank]).sort(), [['fc1', 16], ['fc2', 8]]);
  assert.deepEqual(JSON.parse(readFileSync(`${report.output}.report.json`, 'utf8')).layers, report.layers);
  assert.ok(fractions.length > 0 && fractions.every((f) => f >= 0 && f <= 1), `progress ${fractions}`);
  await assert.rejects(runCompress(CLI, { model, goal: { ratio: 0.5 } }), (e: Error) => e instanceof JobError && e.code === 'output-exists' && e.file === report.output && e.message.includes(report.output));
  const forced = await runCompress(CLI, { model, goal: { ratio: 0.5 }, force: true, dtype: 'f16' });
  assert.ok(forced.compressedParams <= 0.5 * forced.originalParams + 1);
});

test('the panel\'s methods reach the CLI: whitened SVD and fine-tuning on the calibration inputs, re-layout on a budget', async () => {
  const dir = tempDir();
  for (const f of ['model.json', 'weights.bin']) copyFileSync(join('examples/fashion-mnist', f), join(dir, f));
  const model = join(dir, 'model.json');
  const calibration = resolve('examples/fashion-mnist/calib.npz:x');
  const plan = { dense_1: 24, dense_2: 16 };
  const whitened = await runCompress(CLI, { model, goal: { ranks: plan }, method: 'whitened', calibration });
  assert.equal(whitened.method, 'whitened');
  assert.ok(whitened.methodChoice, 'the held-out choice between whitened and plain factors ran');
  const tuned = await runCompress(CLI, { model, goal: { ranks: plan }, method: 'whitened', finetune: 20, calibration, force: true });
  assert.equal(tuned.finetune?.steps, 20);
  assert.deepEqual(tuned.layers.map((l) => [l.name, l.rank]), [['dense_1', 24], ['dense_2', 16]]);
  // The re-layout takes the panel's budget on an ONNX model.
  const onnx = join(dir, 'mlp.onnx');
  copyFileSync(join(onnxFixtures, 'mlp.onnx'), onnx);
  const relaid = await runCompress(CLI, { model: onnx, goal: { ratio: 0.5 }, method: 'relayout' });
  assert.equal(relaid.method, 'relayout');
  assert.ok(relaid.layers.length > 0 && relaid.layers.every((l) => l.layout) && relaid.compressedParams <= 0.5 * relaid.originalParams);
});

test('bad input comes back as the CLI\'s one-line message', async () => {
  const dir = tempDir();
  const model = join(dir, 'broken.safetensors');
  writeFileSync(model, 'not a model');
  await assert.rejects(runCompress(CLI, { model, goal: { energy: 0.9 } }), (e: Error) => e instanceof JobError && e.code === 'bad-input' && e.file === model && e.message.includes(model) && !e.message.includes('\n'));
});

/** A safetensors file with a few large random layers: slow enough to cancel mid-job. */
function bigModel(path: string): void {
  const n = 1024, names = ['a', 'b', 'c', 'd'];
  const header: Record<string, unknown> = {};
  names.forEach((name, i) => { header[`${name}.weight`] = { dtype: 'F32', shape: [n, n], data_offsets: [i * n * n * 4, (i + 1) * n * n * 4] }; });
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const data = names.map((_, i) => Buffer.from(randomMatrix(n, n, i).buffer));
  writeFileSync(path, Buffer.concat([len, json, ...data]));
}

test('cancelling kills the job and leaves no output', async () => {
  const dir = tempDir();
  const model = join(dir, 'big.safetensors');
  bigModel(model);
  const abort = new AbortController();
  const job = runCompress(CLI, { model, goal: { ratio: 0.3 } }, { signal: abort.signal, progress: () => abort.abort() });
  await assert.rejects(job, (e: Error) => e instanceof JobError && e.code === 'cancelled');
  assert.deepEqual(readdirSync(dir), ['big.safetensors']);
});

test('the evaluation job reports what evaluate() measures, on data from an .npz or on drawn inputs', async () => {
  const dir = tempDir();
  const model = await lowRankMlp(dir, 6);
  const { output } = await runCompress(CLI, { model, goal: { ranks: { hidden: 2 } } });
  const x = randomMatrix(50, 40, 3);
  const y = Float32Array.from({ length: 50 }, (_, i) => i % 12);
  writeFileSync(join(dir, 'data.npz'), encodeNpz({ x: { dtype: 'float32', shape: [50, 40], data: x }, y: { dtype: 'float32', shape: [50], data: y } }));
  const data = { inputs: `${join(dir, 'data.npz')}:x`, labels: `${join(dir, 'data.npz')}:y` };
  const labelled = await runEvaluate(CLI, model, output, data);
  assert.deepEqual(labelled, JSON.parse(JSON.stringify(await evaluate(model, output, data))));
  assert.equal(labelled.samples, 50);
  assert.equal(typeof labelled.compressed.accuracy, 'number');
  const drawn = await runEvaluate(CLI, model, output, {});
  assert.equal(drawn.inputsFrom, 'random');
  assert.ok(drawn.top1Agreement! > 0 && drawn.relativeOutputError! > 0, JSON.stringify(drawn));
  await assert.rejects(runEvaluate(CLI, model, join(dir, 'missing.json'), {}), (e: Error) => e instanceof JobError && e.code === 'bad-input' && e.message.includes('missing.json'));
});
