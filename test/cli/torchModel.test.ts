// `--torch-model file.py:factory`: data-aware compression of PyTorch and safetensors
// checkpoints, the user's module run in the PyTorch worker (core/runners/torch.ts,
// python/torch_runner.py). Real subjects trained here in seconds: a small MLP on correlated
// inputs (test/fixtures/torch_mlp.py) and the tiny byte-level transformer of examples/tiny-lm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cli, makeFixtures, tempDir, withoutProgress } from '../helpers/cli.js';
import { PYTHON } from '../helpers/python.js';

const MLP = resolve('test/fixtures/torch_mlp.py');
const mlp = makeFixtures(MLP);
const at = (f: string): string => join(mlp, f);

interface Report { methodChoice?: { kept: string }; finetune?: { before: { relativeOutputError: number }; after: { relativeOutputError: number } }; allocation?: string }
interface Eval { relativeOutputError: number; top1Agreement: number; compressed: { perplexity?: number }; original: { perplexity?: number } }

function compress(model: string, module: string, out: string, ...more: string[]): Report {
  const r = cli('compress', model, '--torch-model', module, '-o', out, '--json', ...more);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

function evaluate(model: string, module: string, reduced: string, inputs: string): Eval {
  const r = cli('evaluate', model, reduced, '--torch-model', module, '--inputs', inputs, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Eval;
}

/** Loads `reduced` into a fresh module with stock load_state_dict after the documented swap (python/reducible_load.py). */
function loadsInTorch(factory: string, reduced: string): void {
  const [file, fn] = factory.split(':');
  const code = `import sys; sys.path[:0] = ['python', sys.argv[1]]; import importlib; from reducible_load import load_reduced
m = getattr(importlib.import_module(sys.argv[2]), sys.argv[3])(); r = load_reduced(m, sys.argv[4]); assert not r.missing_keys and not r.unexpected_keys, r`;
  const dir = file.slice(0, file.lastIndexOf('/')), name = file.slice(file.lastIndexOf('/') + 1, -'.py'.length);
  const r = spawnSync(PYTHON, ['-c', code, dir, name, fn, reduced], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

test('safetensors: --method whitened runs the module; on held-out inputs it beats plain SVD, and the output loads with load_state_dict', () => {
  const module = `${MLP}:make`;
  const whitened = compress(at('model.safetensors'), module, at('w.safetensors'), '--ratio', '0.3', '--method', 'whitened', '--calibration', at('calibration.npy'));
  assert.equal(whitened.allocation, 'sensitivity');
  assert.equal(whitened.methodChoice?.kept, 'whitened');
  compress(at('model.safetensors'), module, at('svd.safetensors'), '--ratio', '0.3', '--allow-deep-cuts');
  const w = evaluate(at('model.safetensors'), module, at('w.safetensors'), at('heldout.npy'));
  const p = evaluate(at('model.safetensors'), module, at('svd.safetensors'), at('heldout.npy'));
  assert.ok(w.relativeOutputError < 0.7 * p.relativeOutputError, `whitened ${w.relativeOutputError} vs plain ${p.relativeOutputError}`);
  assert.ok(w.top1Agreement > p.top1Agreement, `whitened ${w.top1Agreement} vs plain ${p.top1Agreement}`);
  loadsInTorch(module, at('w.safetensors'));
});

test('PyTorch .pt: whitened with fine-tuning in the worker improves held-out fidelity and loads', () => {
  const module = `${MLP}:make`;
  const r = compress(at('model.pt'), module, at('ft.safetensors'), '--ratio', '0.3', '--method', 'whitened', '--allocation', 'spectrum',
    '--calibration', at('calibration.npy'), '--finetune', '150');
  assert.ok(r.finetune && r.finetune.after.relativeOutputError < r.finetune.before.relativeOutputError, JSON.stringify(r.finetune));
  loadsInTorch(module, at('ft.safetensors'));
});

test('a bad --torch-model is exit 2 with one line naming its file; without one, data-aware methods say what to add', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'wrong.py'), 'import torch\ndef make():\n    return torch.nn.Linear(3, 4)\ndef fails():\n    raise ValueError("no")\n');
  writeFileSync(join(dir, 'broken.py'), 'def make(:\n');
  // (A spec that is not file.py:name is refused before Python starts: test/unit/jobRequest.test.ts.)
  const cases: [string, RegExp][] = [
    [join(dir, 'missing.py:make'), /missing\.py: no such file/],
    [join(dir, 'wrong.py:other'), /wrong\.py: has no function other/],
    [join(dir, 'wrong.py:fails'), /wrong\.py: fails\(\) failed: ValueError: no/],
    [join(dir, 'wrong.py:make'), /wrong\.py: make\(\) does not match model\.pt: missing bias, weight; unexpected/],
    [join(dir, 'broken.py:make'), /broken\.py: importing it failed: SyntaxError/],
  ];
  for (const [spec, message] of cases) {
    const r = cli('compress', at('model.pt'), '--torch-model', spec, '--ratio', '0.5', '--method', 'whitened', '--calibration', at('calibration.npy'), '-o', join(dir, 'o.safetensors'));
    assert.equal(r.code, 2, `${spec}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(withoutProgress(r.stderr).trim().split('\n').length, 1, r.stderr);
  }
  const r = cli('compress', at('model.safetensors'), '--ratio', '0.5', '--method', 'whitened', '--calibration', at('calibration.npy'), '-o', join(dir, 'o.safetensors'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--method whitened runs the model: name its module with --torch-model file\.py:factory/);
  // Hugging Face folders without transformers: huggingFaceFolder.test.ts.
});

test('tiny transformer LM: whitened keeps held-out perplexity far closer to the original than plain SVD at half the parameters', () => {
  const dir = tempDir();
  // The repository's README as the corpus: English text that every checkout has.
  const train = spawnSync(PYTHON, ['examples/tiny-lm/train.py', '--config', 'small', '--steps', '120', '--calibration', '160', '--out', dir, '--corpus', 'README.md'], { encoding: 'utf8' });
  assert.equal(train.status, 0, train.stderr);
  const module = `${resolve('examples/tiny-lm/model.py')}:small`;
  const model = join(dir, 'model.safetensors'), held = join(dir, 'heldout.npy');
  compress(model, module, join(dir, 'svd.safetensors'), '--ratio', '0.5', '--allow-deep-cuts');
  compress(model, module, join(dir, 'w.safetensors'), '--ratio', '0.5', '--method', 'whitened', '--calibration', join(dir, 'calibration.npy'));
  const plain = evaluate(model, module, join(dir, 'svd.safetensors'), held);
  const whitened = evaluate(model, module, join(dir, 'w.safetensors'), held);
  const base = plain.original.perplexity!;
  const excess = (e: Eval): number => e.compressed.perplexity! / base - 1;
  assert.ok(excess(whitened) < 0.5 * excess(plain), `perplexity ×${1 + excess(whitened)} whitened vs ×${1 + excess(plain)} plain (base ${base})`);
  loadsInTorch(module, join(dir, 'w.safetensors'));
});
