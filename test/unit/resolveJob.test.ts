// The job as data (core/compress/resolveJob.ts): every rule about options and formats decided
// in process from a format's capabilities, before any file is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveJob, stageOptions, type JobRequest, type ModelFacts } from '../../core/compress/resolveJob.js';
import { capabilitiesOf } from '../../core/formats/format.js';
import { formats, formatModule, formatsWith } from '../../core/formats/registry.js';
import { InputError, type ModelFormat } from '../../core/types.js';

const facts = (format: ModelFormat, more: Partial<ModelFacts> = {}): ModelFacts => ({
  path: `/m/model.${format}`, format, files: [`/m/model.${format}`], fileBytes: 1e6, factorisable: 4, totalParams: 1e6,
  capabilities: formatModule(format).capabilities, runsWritten: formatModule(format).runsWritten === true,
  formatsWith,
  ...more,
});
const ratio = (more: Partial<JobRequest> = {}): JobRequest => ({ goal: { kind: 'ratio', ratio: 0.5 }, out: '/m/out', ...more });
const refused = (fn: () => unknown, pattern: RegExp): void => assert.throws(fn, (e: unknown) => e instanceof InputError && pattern.test(e.message));

test('plain SVD: spectrum allocation, no step runs the model, every format that writes', () => {
  for (const f of formats()) {
    const plan = resolveJob(ratio(), facts(f.id));
    assert.equal(plan.method, 'svd');
    assert.equal(plan.allocation, 'spectrum');
    assert.deepEqual(plan.runs, { sensitivity: false, refine: false, guard: false });
    assert.deepEqual(plan.stages.map((s) => s.name), ['analyse', 'factorise']);
  }
});

test('--method whitened: sensitivity, refinement and the guard where the runner supports them; refused without calibration or a runner', () => {
  for (const id of ['tfjs-layers', 'keras-h5', 'onnx', 'tfjs-graph'] as const) {
    const plan = resolveJob(ratio({ method: 'whitened', calibration: 100 }), facts(id));
    assert.equal(plan.allocation, 'sensitivity', id);
    assert.deepEqual(plan.runs, { sensitivity: true, refine: true, guard: true }, id);
  }
  refused(() => resolveJob(ratio({ method: 'whitened' }), facts('onnx')), /--method whitened needs --calibration inputs/);
  refused(() => resolveJob(ratio({ method: 'whitened', calibration: 100 }), facts('safetensors')), /--method whitened is available for TF\.js layers, TF\.js graph, Keras, ONNX and Hugging Face folder models \(this is safetensors\)/);
  // What a format cannot do is a stable error code the IDE can act on, not text to parse.
  assert.throws(() => resolveJob(ratio({ method: 'whitened', calibration: 100 }), facts('pytorch')), (e: unknown) => e instanceof InputError && e.code === 'unsupported');
  // Energy and rank goals fix each layer alone: nothing to allocate, nothing to refine.
  const energy = resolveJob({ goal: { kind: 'energy', energy: 0.9 }, method: 'whitened', calibration: 10, out: '/m/out' }, facts('onnx'));
  assert.equal(energy.allocation, undefined);
  assert.deepEqual(energy.runs, { sensitivity: false, refine: false, guard: true });
});

test('safetensors and PyTorch: every data-aware step once the module that runs them is named, a pointer to --torch-model before', () => {
  for (const id of ['safetensors', 'pytorch'] as const) {
    const format = formatModule(id);
    const named = facts(id, { capabilities: capabilitiesOf(format, true) });
    const plan = resolveJob(ratio({ method: 'whitened', calibration: 100, finetune: 10 }), named);
    assert.deepEqual(plan.runs, { sensitivity: true, refine: true, guard: true, finetune: 10 }, id);
    const unnamed = facts(id, { withModule: format.withModule });
    refused(() => resolveJob(ratio({ method: 'whitened', calibration: 100 }), unnamed), /--method whitened runs the model: name its module with --torch-model file\.py:factory/);
    refused(() => resolveJob(ratio({ finetune: 5, calibration: 100 }), unnamed), /--finetune runs the model: name its module with --torch-model/);
  }
});

test('a Hugging Face folder: every data-aware step with no module named (transformers builds the folder\'s own)', () => {
  const plan = resolveJob(ratio({ method: 'whitened', calibration: 100, finetune: 10 }), facts('huggingface'));
  assert.deepEqual(plan.runs, { sensitivity: true, refine: true, guard: true, finetune: 10 });
});

test('probing a large model by writing variants is not the default; in memory it is', () => {
  const big = { fileBytes: 2 ** 30, factorisable: 8 };
  assert.equal(resolveJob(ratio({ method: 'whitened', calibration: 100 }), facts('onnx', big)).allocation, 'spectrum');
  assert.equal(resolveJob(ratio({ method: 'whitened', calibration: 100 }), facts('tfjs-layers', big)).allocation, 'sensitivity');
  assert.equal(resolveJob(ratio({ method: 'whitened', calibration: 100, allocation: 'sensitivity' }), facts('onnx', big)).allocation, 'sensitivity');
  refused(() => resolveJob(ratio({ allocation: 'sensitivity' }), facts('onnx')), /sensitivity allocation needs --calibration inputs/);
  refused(() => resolveJob(ratio({ allocation: 'sensitivity', calibration: 5 }), facts('pytorch')), /sensitivity allocation is available for .* \(this is pytorch\)/);
});

test('--finetune and --method relayout only where the format has them', () => {
  assert.equal(resolveJob(ratio({ finetune: 10, calibration: 50 }), facts('keras')).runs.finetune, 10);
  refused(() => resolveJob(ratio({ finetune: 10 }), facts('keras')), /--finetune needs --calibration inputs/);
  refused(() => resolveJob(ratio({ finetune: 10, calibration: 50 }), facts('tfjs-graph')), /--finetune is available for TF\.js layers, Keras, ONNX and Hugging Face folder models \(this is tfjs-graph\)/);
  assert.equal(resolveJob(ratio({ method: 'relayout' }), facts('onnx')).method, 'relayout');
  refused(() => resolveJob(ratio({ method: 'relayout' }), facts('tfjs-layers')), /--method relayout is written for ONNX models only \(this is tfjs-layers/);
});

test('the output may not be one of the model\'s own files', () => {
  refused(() => resolveJob(ratio({ out: '/m/model.onnx' }), facts('onnx')), /output path is the input model/);
});

test('stage progress covers 0…0.99 in order, each stage within its own share', () => {
  const plan = resolveJob(ratio({ method: 'whitened', calibration: 100, finetune: 5 }), facts('tfjs-layers'));
  assert.deepEqual(plan.stages.map((s) => s.name), ['analyse', 'sensitivity', 'refine', 'factorise', 'factorise-plain', 'finetune']);
  const seen: number[] = [];
  const o = { progress: { report: (f: number) => { seen.push(f); } } };
  for (const s of plan.stages) {
    const stage = stageOptions(plan, o, s.name);
    stage.progress!.report(0, '');
    stage.progress!.report(1, '');
  }
  assert.equal(seen[0], 0);
  assert.ok(Math.abs(seen.at(-1)! - 0.99) < 1e-12);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1] - 1e-12, `progress went back at ${i}: ${seen}`);
});

test('a model with no layer a factorisation makes smaller is refused in every format, whatever the goal (bad input, exit 2)', () => {
  for (const f of formats().filter((x) => x.capabilities.compress)) {
    for (const goal of [{ kind: 'ratio', ratio: 0.5 }, { kind: 'ratio', ratio: 1 }, { kind: 'energy', energy: 0.9 }] as const) {
      assert.throws(() => resolveJob({ goal, out: '/m/out' }, facts(f.id, { factorisable: 0 })),
        (e: unknown) => e instanceof InputError && e.code === 'bad-input' && e.message === `/m/model.${f.id}: nothing to compress: no layer can be factorised into fewer parameters`, f.id);
    }
  }
});

test('a --ratio met with every layer dense (repeated tensors kept once) runs nothing on the data, whatever the method; below it, every step runs', () => {
  // 1 000 parameters, 600 of them repeats: 0.5 keeps 500 ≥ 400 distinct.
  const repeats = facts('onnx', { totalParams: 1000, sharedParams: 600 });
  const met = resolveJob(ratio({ method: 'whitened', calibration: 100, finetune: 50 }), repeats);
  assert.deepEqual([met.dense, met.runs, met.stages.map((s) => s.name)], [true, { sensitivity: false, refine: false, guard: false }, ['analyse', 'factorise']]);
  const below = resolveJob(ratio({ method: 'whitened', calibration: 100, finetune: 50, goal: { kind: 'ratio', ratio: 0.3 } }), repeats);
  assert.equal(below.dense, undefined);
  assert.deepEqual([below.runs.guard, below.runs.finetune], [true, 50]);
  // Nothing a factorisation makes smaller, but repeats to keep once: a compress, not a refusal.
  assert.equal(resolveJob(ratio(), facts('tfjs-graph', { factorisable: 0, totalParams: 1000, sharedParams: 600 })).dense, true);
});
