// The output's name says what it holds: an -o whose ending is not what the model's format
// writes (a PyTorch checkpoint written as safetensors under `x.pt`, which torch.load then
// fails on) is refused by resolveJob, in one line naming the output, before any work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planJob } from '../../core/compress/job.js';
import { resolveJob, type JobRequest, type ModelFacts } from '../../core/compress/resolveJob.js';
import type { Engine } from '../../core/engines/engine.js';
import { formatModule, formatsWith } from '../../core/formats/registry.js';
import type { StoredModel } from '../../core/formats/storedModel.js';
import { InputError, type ModelFormat } from '../../core/types.js';

const facts = (format: ModelFormat, path: string, outputEnding?: string): ModelFacts => ({
  path, format, files: [path], fileBytes: 1e6, factorisable: 4, totalParams: 1e6,
  capabilities: formatModule(format).capabilities, runsWritten: formatModule(format).runsWritten === true,
  formatsWith, outputEnding,
});
const ratio = (out: string): JobRequest => ({ goal: { kind: 'ratio', ratio: 0.5 }, out });

test('an output whose ending is not what is written is refused, naming the output and the ending to use', () => {
  assert.throws(() => resolveJob(ratio('/m/x.pt'), facts('pytorch', '/m/model.pt', '.safetensors')), (e: unknown) =>
    e instanceof InputError && e.code === 'bad-input' && !e.message.includes('\n')
    && e.message === '/m/x.pt: output name does not end in .safetensors, but a pytorch model is written as a .safetensors file; choose an -o ending in .safetensors');
  assert.throws(() => resolveJob(ratio('/m/x'), facts('onnx', '/m/model.onnx', '.onnx')), /\/m\/x: output name does not end in \.onnx/);
  // A sharded index writes an index: a single-file name is refused, and the other way round.
  assert.throws(() => resolveJob(ratio('/m/x.safetensors'), facts('safetensors', '/m/m.safetensors.index.json', '.safetensors.index.json')), /does not end in \.safetensors\.index\.json/);
  assert.throws(() => resolveJob(ratio('/m/x.safetensors.index.json'), facts('safetensors', '/m/m.safetensors', '.safetensors')), /does not end in \.safetensors\b/);
});

test('an output with the written ending is accepted, in any case; without the fact any output is', () => {
  assert.equal(resolveJob(ratio('/m/x.safetensors'), facts('pytorch', '/m/model.pt', '.safetensors')).out, '/m/x.safetensors');
  assert.equal(resolveJob(ratio('/m/X.SafeTensors'), facts('pytorch', '/m/model.pt', '.safetensors')).out, '/m/X.SafeTensors');
  assert.equal(resolveJob(ratio('/m/out'), facts('onnx', '/m/model.onnx')).out, '/m/out');
});

test('planJob states the ending each format writes: the output extension where it has one, else the input\'s own', () => {
  const model = (format: ModelFormat, path: string): StoredModel<unknown> =>
    ({ format, path, files: [path], fileBytes: 100, layers: [{ factorisable: true, matrix: { rows: 64, cols: 64 } }] }) as unknown as StoredModel<unknown>;
  const plan = (format: ModelFormat, path: string, out: string): unknown =>
    planJob(model(format, path), formatModule(format), { goal: { kind: 'ratio', ratio: 0.5 }, out, engine: {} as Engine }).out;
  for (const [format, input, good, bad] of [
    ['pytorch', '/m/model.pt', '/m/a.safetensors', '/m/a.pt'],
    ['pytorch', '/m/model.bin', '/m/a.safetensors', '/m/a.bin'],
    ['safetensors', '/m/model.safetensors', '/m/a.safetensors', '/m/a.pt'],
    ['safetensors', '/m/model.safetensors.index.json', '/m/a.safetensors.index.json', '/m/a.safetensors'],
    ['onnx', '/m/model.onnx', '/m/a.onnx', '/m/a.safetensors'],
    ['keras-h5', '/m/model.h5', '/m/a.h5', '/m/a.keras'],
    ['keras', '/m/model.keras', '/m/a.keras', '/m/a.h5'],
    ['tfjs-layers', '/m/model.json', '/m/a.json', '/m/a.bin'],
  ] as const) {
    assert.equal(plan(format, input, good), good, `${format} ${input} → ${good}`);
    assert.throws(() => plan(format, input, bad), (e: unknown) => e instanceof InputError && e.file === bad, `${format} ${input} → ${bad}`);
  }
  // The default output (no -o) always has the right ending.
  assert.equal(planJob(model('pytorch', '/m/model.pth'), formatModule('pytorch'), { goal: { kind: 'ratio', ratio: 0.5 }, engine: {} as Engine }).out, '/m/model.reduced.safetensors');
  // A Hugging Face folder is written as a folder beside it, named freely with -o.
  assert.equal(planJob(model('huggingface', '/m/my-model'), formatModule('huggingface'), { goal: { kind: 'ratio', ratio: 0.5 }, engine: {} as Engine }).out, '/m/my-model.reduced');
  assert.equal(plan('huggingface', '/m/my-model', '/m/small'), '/m/small');
});
