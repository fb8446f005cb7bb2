// The IDE's compress request (shared/jobProtocol.ts) as the CLI reads it (cli/jobRequest.ts),
// in process: what is accepted, what is refused and how the refusal names the field; the flags
// make the same request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { jobError } from '../../cli/errors.js';
import { checkCompressRequest, parseCompressRequest, requestFromFlags } from '../../cli/jobRequest.js';
import { CancelledError, InputError } from '../../core/types.js';
import { ERROR_CODES, EXIT_CODES, type CompressRequest } from '../../shared/jobProtocol.js';
import { tempDir } from '../helpers/cli.js';

const analysis = (path: string) => ({
  format: 'safetensors', path, fileBytes: 100, totalParams: 30, energy: 0.99,
  layers: [{ name: 'fc1', kind: 'linear', shape: [3, 2], params: 6, rows: 3, cols: 2, singularValues: [2, 1], factorisable: true, dtype: 'float32' }],
});

test('a full request is accepted as it is; absent options stay absent', () => {
  const full: CompressRequest = {
    model: 'm.onnx', goal: { ratio: 0.3 }, dtype: 'f16', method: 'whitened', allocation: 'sensitivity', calibration: 'x.npz:x',
    finetune: 20, engine: 'wasm', python: '/usr/bin/python3', torchModel: 'net/model.py:build', out: 'o.onnx', force: true, allowDeepCuts: true,
  };
  assert.deepEqual(parseCompressRequest(JSON.stringify(full)), full);
  assert.deepEqual(checkCompressRequest({ model: 'm.onnx', goal: { energy: 0.9 } }), { model: 'm.onnx', goal: { energy: 0.9 } });
  assert.deepEqual(checkCompressRequest({ model: 'm.onnx', goal: { ranks: { a: 3 } } }), { model: 'm.onnx', goal: { ranks: { a: 3 } } });
  const withAnalysis = { model: 'dir/m.safetensors', goal: { ratio: 0.5 }, analysis: analysis(resolve('dir/m.safetensors')) };
  assert.deepEqual(checkCompressRequest(withAnalysis), withAnalysis);
});

test('each bad field is refused as bad input, naming the field', () => {
  const base = { model: 'm.onnx', goal: { ratio: 0.5 } };
  const cases: [unknown, RegExp][] = [
    [[], /must be a JSON object/],
    [{ goal: { ratio: 0.5 } }, /model is missing/],
    [{ ...base, model: '' }, /model must be a non-empty string/],
    [{ ...base, goal: {} }, /exactly one of goal\.ratio, goal\.energy, goal\.ranks/],
    [{ ...base, goal: { ratio: 0.5, energy: 0.9 } }, /exactly one of/],
    [{ ...base, goal: { ratio: 0 } }, /goal\.ratio must be a number in \(0, 1\], got 0/],
    [{ ...base, goal: { energy: '0.9' } }, /goal\.energy must be a number/],
    [{ ...base, goal: { ranks: [3] } }, /goal\.ranks must be/],
    [{ ...base, dtype: 'f8' }, /dtype must be one of f32, f16, int8, got f8/],
    [{ ...base, method: 'whitened+finetune' }, /method must be one of svd, whitened, relayout/],
    [{ ...base, allocation: 'greedy' }, /allocation must be one of spectrum, sensitivity/],
    [{ ...base, engine: 'cuda' }, /engine must be one of/],
    [{ ...base, finetune: 2.5 }, /finetune takes a whole number/],
    [{ ...base, finetune: -1 }, /finetune must be a number in \[0/],
    [{ ...base, force: 'yes' }, /force must be true or false/],
    [{ ...base, allowDeepCuts: 1 }, /allowDeepCuts must be true or false/],
    [{ ...base, torchModel: 'model.py' }, /torchModel must be file\.py:factory/],
    [{ ...base, ratio: 0.5 }, /unknown request field ratio/],
    [{ ...base, analysis: { path: 'other.onnx', totalParams: 1, layers: [] } }, /analysis: is of other\.onnx, not of the model m\.onnx/],
    [{ ...base, analysis: { ...analysis(resolve('m.onnx')), layers: [{ ...analysis('').layers[0], singularValues: [2] }] } }, /analysis: layer "fc1" must have all min\(rows, cols\) = 2 singular values/],
    [{ ...base, analysis: { ...analysis(resolve('m.onnx')), layers: [analysis('').layers[0], analysis('').layers[0]] } }, /layer "fc1" has no name of its own/],
    [{ ...base, analysis: { ...analysis(resolve('m.onnx')), sharedParams: 31 } }, /analysis: sharedParams must be a number from 0 to totalParams, got 31/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => checkCompressRequest(value), (e: unknown) => e instanceof InputError && e.code === 'bad-input' && message.test(e.message) && !e.message.includes('\n'), JSON.stringify(value));
  }
});

test('text that is not JSON is refused in one line naming where it came from', () => {
  assert.throws(() => parseCompressRequest('{"model": '), (e: unknown) => e instanceof InputError && /^the compress request on stdin is not JSON \(/.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => parseCompressRequest('nope', 'job.json'), (e: unknown) => e instanceof InputError && e.file === 'job.json' && /^job\.json: not a JSON compress request/.test(e.message));
  assert.throws(() => parseCompressRequest('{"model": "m", "goal": {"ratio": 2}}', 'job.json'), /^InputError: job\.json: goal\.ratio must be/);
});

test('the flags make the same request, their rules naming the flag', async () => {
  const dir = tempDir();
  const plan = join(dir, 'plan.json');
  writeFileSync(plan, JSON.stringify({ layers: { fc1: 4 }, dtype: 'f16' }));
  assert.deepEqual(await requestFromFlags({ ratio: '0.25', method: 'whitened', calibration: 'x.npy', finetune: '10', force: true, 'allow-deep-cuts': true, out: 'o.onnx' }, ['m.onnx']),
    { model: 'm.onnx', goal: { ratio: 0.25 }, method: 'whitened', calibration: 'x.npy', finetune: 10, force: true, allowDeepCuts: true, out: 'o.onnx' });
  // A plan's dtype is the request's unless --dtype is given.
  assert.deepEqual(await requestFromFlags({ ranks: plan }, ['m.onnx']), { model: 'm.onnx', goal: { ranks: { fc1: 4 } }, dtype: 'f16' });
  assert.deepEqual(await requestFromFlags({ ranks: plan, dtype: 'int8' }, ['m.onnx']), { model: 'm.onnx', goal: { ranks: { fc1: 4 } }, dtype: 'int8' });
  await assert.rejects(requestFromFlags({ ratio: 'half' }, ['m.onnx']), /--ratio must be a number in \(0, 1\], got half/);
  await assert.rejects(requestFromFlags({ ratio: '0.5', energy: '0.9' }, ['m.onnx']), /give exactly one of --ratio, --energy, --ranks/);
  await assert.rejects(requestFromFlags({ ratio: '0.5', dtype: 'f8' }, ['m.onnx']), /--dtype must be one of f32, f16, int8, got f8/);
  await assert.rejects(requestFromFlags({ ratio: '0.5', finetune: '1.5' }, ['m.onnx']), /--finetune takes a whole number of steps/);
  await assert.rejects(requestFromFlags({ ratio: '0.5' }, []), /exactly one model path/);
});

test('every failure maps to a stable code and the contract\'s exit code', () => {
  const code = (e: unknown) => jobError(e).code;
  assert.equal(code(new InputError('m.onnx', 'output exists (use --force to replace it)', 'output-exists')), 'output-exists');
  assert.equal(code(new InputError('m.onnx', 'cuts layers deeply', 'deep-cut')), 'deep-cut');
  assert.equal(code(new InputError('m.onnx', 'not a model', 'unsupported')), 'unsupported');
  assert.equal(code(new InputError('m.onnx', 'bad')), 'bad-input');
  assert.equal(code(new CancelledError()), 'cancelled');
  assert.equal(code(new Error('two\nlines')), 'runtime');
  assert.deepEqual(jobError(new Error('two\n  lines')), { type: 'error', code: 'runtime', message: 'two lines' });
  assert.deepEqual(jobError(new InputError('m.onnx', 'bad')), { type: 'error', code: 'bad-input', message: 'm.onnx: bad', file: 'm.onnx' });
  assert.deepEqual(ERROR_CODES.map((c) => EXIT_CODES[c]), [2, 2, 2, 2, 1, 1]);
});
