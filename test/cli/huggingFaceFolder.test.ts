// Hugging Face model folders (config.json + safetensors, one file or sharded): plain SVD reads
// only the weights and writes a complete output folder; data-aware methods and `evaluate` run
// the folder's module, built in the PyTorch worker by transformers.
//
// transformers cannot be installed here, so the data-aware tests put a minimal stand-in on
// PYTHONPATH (test/helpers/transformersStandIn.ts) whose one architecture class is the tiny LM
// of examples/tiny-lm/model.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cli, cliWith, tempDir, withoutProgress } from '../helpers/cli.js';
import { PYTHON } from '../helpers/python.js';
import { transformersStandIn } from '../helpers/transformersStandIn.js';

const TINY_LM = resolve('examples/tiny-lm');
const dir = tempDir();
const data = join(dir, 'data');
// The repository's README as the corpus, as torchModel.test.ts trains it.
const train = spawnSync(PYTHON, [join(TINY_LM, 'train.py'), '--config', 'small', '--steps', '120', '--calibration', '160', '--out', data, '--corpus', 'README.md'], { encoding: 'utf8' });
assert.equal(train.status, 0, train.stderr);
const calibration = join(data, 'calibration.npy'), heldout = join(data, 'heldout.npy');

/** The small tiny LM's hyper-parameters, as a Hugging Face config names its model's. */
const CONFIG = { architectures: ['TinyLMForCausalLM'], model_type: 'tiny-lm', width: 64, layers: 2, heads: 2, context: 32 };

const withTransformers = transformersStandIn(dir, `import sys
sys.path.insert(0, ${JSON.stringify(TINY_LM)})
from model import TinyLM


class TinyLMForCausalLM(TinyLM):
    def __init__(self, config):
        super().__init__(config.width, config.layers, config.heads, config.context)
`);

/** A model folder: config.json, a tokenizer file and the weights, one file or in two shards. */
function modelFolder(name: string, sharded = false): string {
  const folder = join(dir, name);
  mkdirSync(folder);
  writeFileSync(join(folder, 'config.json'), JSON.stringify(CONFIG));
  writeFileSync(join(folder, 'tokenizer.json'), '{"model": {"type": "bytes"}}');
  if (!sharded) {
    copyFileSync(join(data, 'model.safetensors'), join(folder, 'model.safetensors'));
    return folder;
  }
  const split = `import json, os, sys
sys.path[:0] = ['python', ${JSON.stringify(TINY_LM)}]
from reducible_load import read_safetensors
from train import save_safetensors
state = read_safetensors(sys.argv[1])[0]
names = list(state)
shards = {"model-00001-of-00002.safetensors": names[:len(names) // 2], "model-00002-of-00002.safetensors": names[len(names) // 2:]}
for file, part in shards.items():
    save_safetensors({n: state[n] for n in part}, os.path.join(sys.argv[2], file))
with open(os.path.join(sys.argv[2], "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {}, "weight_map": {n: file for file, part in shards.items() for n in part}}, f)`;
  const r = spawnSync(PYTHON, ['-c', split, join(data, 'model.safetensors'), folder], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return folder;
}

interface Report { output: string; files: string[]; layers: { name: string; rank: number }[]; compressedBytes: number; predictedBytes: number }
interface Eval { compressed: { perplexity?: number }; original: { perplexity?: number } }

function compress(env: NodeJS.ProcessEnv, ...args: string[]): Report {
  const r = cliWith(env, 'compress', ...args, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

function evaluate(original: string, reduced: string): Eval {
  const r = cliWith(withTransformers, 'evaluate', original, reduced, '--inputs', heldout, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Eval;
}

/**
 * Loads the reduced folder with the loader written into it (a fresh small tiny LM, then
 * load_reduced on the folder) and returns the largest difference of its outputs on the held-out
 * windows from those of the original with each layer of `ranks` replaced by numpy's truncated
 * SVD at that rank, relative to the largest output.
 */
function differenceFromPlainSvd(reduced: string, ranks: Record<string, number>): number {
  const code = `import json, sys
import numpy as np, torch
sys.path[:0] = [sys.argv[1], ${JSON.stringify(TINY_LM)}]
from reducible_load import load_reduced, read_safetensors
from model import small
ranks = json.loads(sys.argv[3])
state = read_safetensors(sys.argv[2])[0]
for name, k in ranks.items():
    w = state[name + ".weight"].double().numpy()
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    state[name + ".weight"] = torch.from_numpy((u[:, :k] * s[:k]) @ vt[:k]).float()
expected = small()
expected.load_state_dict(state)
model = small()
r = load_reduced(model, sys.argv[1])
assert not r.missing_keys and not r.unexpected_keys, r
x = torch.from_numpy(np.load(sys.argv[4]))
with torch.no_grad():
    a, b = expected.eval()(x), model.eval()(x)
print(((a - b).abs().max() / a.abs().max()).item())`;
  const r = spawnSync(PYTHON, ['-c', code, reduced, join(data, 'model.safetensors'), JSON.stringify(ranks), heldout], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

const ranksOf = (r: Report): Record<string, number> => Object.fromEntries(r.layers.map((l) => [l.name, l.rank]));

/** Nothing of a job beside its output: no temporary, scratch or staging folder (`.<name>.<hex>.tmp`). */
const leftovers = (): string[] => readdirSync(dir).filter((n) => n.startsWith('.'));

const lm = modelFolder('lm');

test('plain SVD of a folder needs no transformers: config, tokenizer, reduced weights and the loader, which loads it as numpy\'s truncated SVD', () => {
  const r = compress({}, lm, '--ratio', '0.5', '--allow-deep-cuts');
  assert.equal(r.output, `${lm}.reduced`);
  assert.deepEqual(readdirSync(r.output).sort(), ['config.json', 'model.safetensors', 'reducible_load.py', 'tokenizer.json']);
  assert.ok(existsSync(`${lm}.reduced.report.json`));
  assert.equal(readFileSync(join(r.output, 'config.json'), 'utf8'), JSON.stringify(CONFIG));
  assert.ok(r.compressedBytes <= 1.02 * r.predictedBytes + 4096, `${r.compressedBytes} written, ${r.predictedBytes} predicted`);
  assert.ok(r.layers.length > 0);
  assert.ok(differenceFromPlainSvd(r.output, ranksOf(r)) < 1e-4);
  assert.deepEqual(leftovers(), []);
  // Without inputs, evaluate compares the weights, as for a safetensors file: no module runs.
  const weights = cli('evaluate', lm, r.output, '--json');
  assert.equal(weights.code, 0, weights.stderr);
  const layers = (JSON.parse(weights.stdout) as { layers: { name: string }[] }).layers;
  assert.deepEqual(layers.map((l) => l.name), r.layers.map((l) => l.name));
});

test('a sharded folder (model.safetensors.index.json) is written sharded, and loads the same', () => {
  const sharded = modelFolder('sharded', true);
  const r = compress({}, sharded, '--ratio', '0.5', '--allow-deep-cuts', '-o', join(dir, 'sharded-out'));
  assert.deepEqual(readdirSync(r.output).sort(), ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'reducible_load.py', 'tokenizer.json']);
  assert.ok(differenceFromPlainSvd(r.output, ranksOf(r)) < 1e-4);
});

test('with transformers, --method whitened runs the folder\'s module and keeps held-out perplexity far closer than plain SVD', () => {
  const whitened = join(dir, 'lm-whitened');
  compress(withTransformers, lm, '--ratio', '0.5', '--method', 'whitened', '--calibration', calibration, '-o', whitened);
  const plainSvd = join(dir, 'lm-plain');
  compress({}, lm, '--ratio', '0.5', '--allow-deep-cuts', '-o', plainSvd);
  const plain = evaluate(lm, plainSvd), w = evaluate(lm, whitened);
  const excess = (e: Eval): number => e.compressed.perplexity! / e.original.perplexity! - 1;
  assert.ok(excess(w) < 0.5 * excess(plain), `perplexity ×${1 + excess(w)} whitened vs ×${1 + excess(plain)} plain`);
  assert.ok(readdirSync(whitened).includes('reducible_load.py'));
});

test('with transformers, a config whose architecture cannot be built, or does not match the weights, is exit 2 in one line naming the file', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['bad-arch', { ...CONFIG, architectures: ['NoSuchModel'] }, /bad-arch[/\\]config\.json: building its model with transformers failed: AttributeError/],
    ['bad-width', { ...CONFIG, width: 32 }, /bad-width: TinyLMForCausalLM does not match model\.safetensors: /],
  ];
  for (const [name, config, message] of cases) {
    const folder = modelFolder(name);
    writeFileSync(join(folder, 'config.json'), JSON.stringify(config));
    const r = cliWith(withTransformers, 'compress', folder, '--ratio', '0.5', '--method', 'whitened', '--calibration', calibration);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(withoutProgress(r.stderr).trim().split('\n').length, 1, r.stderr);
  }
  assert.deepEqual(leftovers(), []);
});

test('without transformers, data-aware methods and evaluate on a folder are refused in one line naming what is missing, before any work', () => {
  const out = join(dir, 'refused');
  for (const args of [['compress', lm, '--ratio', '0.5', '--method', 'whitened', '--calibration', calibration, '-o', out], ['evaluate', lm, lm, '--inputs', heldout]]) {
    const r = cli(...args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /: Hugging Face model folder: \/usr\/bin\/python3 cannot import transformers; pass its model\.safetensors/);
    assert.equal(withoutProgress(r.stderr).trim().split('\n').length, 1, r.stderr);
  }
  assert.ok(!existsSync(out));
  assert.deepEqual(leftovers(), []);
  // A folder without safetensors weights says what it lacks.
  const empty = join(dir, 'no-weights');
  mkdirSync(empty);
  writeFileSync(join(empty, 'config.json'), '{}');
  const r = cli('compress', empty, '--ratio', '0.5');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no-weights: Hugging Face model folder without model\.safetensors\.index\.json or model\.safetensors/);
});

test('nothing is left behind: an existing output is refused without --force and replaced whole with it; an output inside the input is refused', () => {
  const out = join(dir, 'existing');
  mkdirSync(out);
  writeFileSync(join(out, 'old.txt'), 'old');
  const refused = cli('compress', lm, '--ratio', '0.5', '--allow-deep-cuts', '-o', out);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /existing: output exists \(use --force to replace it\)/);
  assert.deepEqual(readdirSync(out), ['old.txt']);
  compress({}, lm, '--ratio', '0.5', '--allow-deep-cuts', '-o', out, '--force');
  assert.ok(!readdirSync(out).includes('old.txt'));
  const inside = cli('compress', lm, '--ratio', '0.5', '--allow-deep-cuts', '-o', dir, '--force');
  assert.equal(inside.code, 2);
  assert.match(inside.stderr, /output folder would hold or replace an input file/);
  assert.ok(existsSync(join(lm, 'model.safetensors')));
  assert.deepEqual(leftovers(), []);
});
