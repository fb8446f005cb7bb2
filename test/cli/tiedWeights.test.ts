// Tied weights: an LM head sharing the token embedding's matrix (`tie_word_embeddings`), stored
// once as transformers saves it, or under both names. The compressed model loads strictly with
// python/reducible_load.py into the tied module; the factorised embedding's vocab×k factor stays
// one Parameter shared with the head (test/fixtures/tied_lm.py makes the model in torch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { cli, cliWith, makeFixtures, tempDir } from '../helpers/cli.js';
import { PYTHON } from '../helpers/python.js';
import { transformersStandIn } from '../helpers/transformersStandIn.js';

const TIED = resolve('test/fixtures/tied_lm.py');
const fx = makeFixtures(TIED);
const out = tempDir();
const ids = join(fx, 'ids.npy');
const withTransformers = transformersStandIn(out, `import sys
sys.path.insert(0, ${JSON.stringify(resolve('examples/tiny-lm'))})
from model import small


class TiedLMForCausalLM:
    def __new__(cls, config):
        model = small()
        if getattr(config, "tie_word_embeddings", True):
            model.head.weight = model.wte.weight
        return model
`);

interface Report { output: string; layers: { name: string; rank: number }[] }

function compress(env: NodeJS.ProcessEnv, model: string, ...args: string[]): Report {
  const r = cliWith(env, 'compress', model, '--json', ...args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

interface Loaded { missing: string[]; unexpected: string[]; headTied: boolean; fromSvd: number; fromOriginal: number }

/**
 * Loads `reduced` strictly into a fresh tied module (a folder: the module its config builds) and
 * compares its logits on the token windows with the original's and with the original's where every
 * layer of the report is replaced by torch's truncated SVD at its rank; each relative to the largest logit.
 */
function load(original: string, reduced: string, report: Report, env: NodeJS.ProcessEnv = {}): Loaded {
  const code = `import json, sys
import numpy as np, torch
sys.path[:0] = ["python", ${JSON.stringify(resolve('test/fixtures'))}]
from reducible_load import folder_module, load_reduced, read_reduced, with_tied
from tied_lm import tied
original, reduced, ranks = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
fresh = (lambda: folder_module(original)) if original.endswith("folder") else tied
state = read_reduced(original)[0]
reference = fresh()
reference.load_state_dict(with_tied(reference, dict(state)), strict=True)
expected = fresh()
for name, k in ranks.items():
    u, s, vt = torch.linalg.svd(state[name + ".weight"].double(), full_matrices=False)
    state[name + ".weight"] = ((u[:, :k] * s[:k]) @ vt[:k]).float()
expected.load_state_dict(with_tied(expected, state), strict=True)
model = fresh()
r = load_reduced(model, reduced)
x = torch.from_numpy(np.load(sys.argv[4])).long()
with torch.no_grad():
    a, b, c = reference.eval()(x), expected.eval()(x), model.eval()(x)
rel = lambda p, q: ((p - q).abs().max() / p.abs().max()).item()
head = model.head
print(json.dumps({"missing": r.missing_keys, "unexpected": r.unexpected_keys,
                  "headTied": isinstance(head, torch.nn.Sequential) and head[1].weight is model.wte[0].weight,
                  "fromSvd": rel(b, c), "fromOriginal": rel(a, c)}))`;
  const ranks = Object.fromEntries(report.layers.map((l) => [l.name, l.rank]));
  const r = spawnSync(PYTHON, ['-c', code, original, reduced, JSON.stringify(ranks), ids], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Loaded;
}

test('a head tied to the embedding and stored once: the factorised embedding loads strictly, the head built on its factors and still tied', () => {
  const report = compress({}, join(fx, 'tied.safetensors'), '--energy', '0.999', '-o', join(out, 'tied.reduced.safetensors'));
  assert.ok(report.layers.some((l) => l.name === 'wte'), JSON.stringify(report.layers));
  assert.ok(!report.layers.some((l) => l.name === 'head'), 'the head is not stored, so not a layer of its own');
  const loaded = load(join(fx, 'tied.safetensors'), report.output, report);
  assert.deepEqual([loaded.missing, loaded.unexpected], [[], []]);
  assert.ok(loaded.headTied, 'the head\'s vocab×k factor is the embedding\'s own Parameter');
  assert.ok(loaded.fromSvd < 1e-4, `${loaded.fromSvd} from the truncated SVD's outputs`);
  assert.ok(loaded.fromOriginal < 0.05, `${loaded.fromOriginal} from the original's outputs`);
});

test('stored under both names, the two are factorised each on its own and load strictly', () => {
  const report = compress({}, join(fx, 'twice.safetensors'), '--energy', '0.999', '-o', join(out, 'twice.reduced.safetensors'));
  assert.deepEqual(report.layers.filter((l) => l.name === 'wte' || l.name === 'head').map((l) => l.name), ['wte', 'head']);
  const loaded = load(join(fx, 'twice.safetensors'), report.output, report);
  assert.deepEqual([loaded.missing, loaded.unexpected], [[], []]);
  assert.ok(loaded.fromSvd < 1e-4, `${loaded.fromSvd} from the truncated SVD's outputs`);
  assert.ok(loaded.fromOriginal < 0.05, `${loaded.fromOriginal} from the original's outputs`);
});

test('a tied Hugging Face folder: plain SVD loads strictly into the module its config builds; whitened SVD runs that module, loaded strictly', () => {
  const folder = join(fx, 'folder');
  const plain = compress({}, folder, '--energy', '0.999', '-o', join(out, 'plain'));
  const loaded = load(folder, plain.output, plain, withTransformers);
  assert.deepEqual([loaded.missing, loaded.unexpected], [[], []]);
  assert.ok(loaded.headTied);
  assert.ok(loaded.fromSvd < 1e-4, `${loaded.fromSvd} from the truncated SVD's outputs`);
  // The worker loads the checkpoint, which lacks head.weight, into the tied module strictly, and
  // scores candidates with the head swapped with the embedding, as the loader will build it.
  const whitened = compress(withTransformers, folder, '--ratio', '0.5', '--method', 'whitened', '--calibration', ids, '--allow-deep-cuts', '-o', join(out, 'whitened'));
  const r = cliWith(withTransformers, 'evaluate', folder, whitened.output, '--inputs', ids, '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.ok((JSON.parse(r.stdout) as { top1Agreement: number }).top1Agreement > 0.5, r.stdout);
  assert.equal(cli('evaluate', folder, plain.output).code, 0);
});
