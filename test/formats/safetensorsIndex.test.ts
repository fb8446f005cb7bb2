// Sharded safetensors (model.safetensors.index.json + shards) as one model, judged by the
// references: spectra by numpy's SVD, the reduced shards by torch (python/reducible_load.py
// loads them into the original nn.Module with a strict load_state_dict).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, makeFixtures, tempDir } from '../helpers/cli.js';
import { python } from '../helpers/python.js';
import { MAX_INDEX, MAX_SHARDS } from '../../core/formats/safetensors/shardIndex.js';

const dir = makeFixtures('test/fixtures/make_safetensors_shards.py');
const index = join(dir, 'model.safetensors.index.json');
const SHARDS = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];

test('analyze: one model over both shards, spectra equal numpy\'s, bytes are all files', () => {
  const r = cli('analyze', index, '--json');
  assert.equal(r.code, 0, r.stderr);
  const a = JSON.parse(r.stdout) as { format: string; fileBytes: number; totalParams: number; layers: { name: string; singularValues: number[] }[] };
  assert.equal(a.format, 'safetensors');
  assert.equal(a.fileBytes, [index, ...SHARDS.map((s) => join(dir, s))].reduce((n, f) => n + statSync(f).size, 0));
  assert.deepEqual(a.layers.map((l) => l.name), ['fc1', 'fc2', 'head']);
  const ref = JSON.parse(python(`
import sys, json, torch, numpy as np
sd = torch.load(sys.argv[1])
print(json.dumps({"params": sum(t.numel() for t in sd.values()),
  "sv": {n[:-7]: np.linalg.svd(t.double().numpy(), compute_uv=False).tolist() for n, t in sd.items() if n.endswith(".weight")}}))`,
  undefined, [join(dir, 'mlp.pt')]).toString()) as { params: number; sv: Record<string, number[]> };
  assert.equal(a.totalParams, ref.params);
  for (const l of a.layers) {
    const want = ref.sv[l.name];
    assert.equal(l.singularValues.length, want.length, l.name);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(l.singularValues[i] - want[i]) <= 1e-4 * want[0], `${l.name} σ${i}: ${l.singularValues[i]} vs ${want[i]}`);
  }
});

interface Loaded { outputError: number; weightErrors: Record<string, number> }

/** Loads the reduced index into a fresh Mlp with the documented helper; compares with mlp.pt. */
function torchCheck(reduced: string): Loaded {
  return JSON.parse(python(`
import sys, json, torch, numpy as np
sys.path[:0] = ["python", "test/fixtures"]
from reducible_load import load_reduced
from make_pytorch import Mlp
ref_path, reduced, x_path = sys.argv[1:4]
sd = torch.load(ref_path)
ref, model = Mlp().eval(), Mlp().eval()
ref.load_state_dict(sd)
load_reduced(model, reduced)
x = torch.from_numpy(np.load(x_path))
with torch.no_grad():
    y, y2 = ref(x), model(x)
errs = {}
for name, m in model.named_children():
    if isinstance(m, torch.nn.Sequential):
        w = m[1].weight @ m[0].weight
        errs[name] = float(torch.linalg.norm(w - sd[name + ".weight"]) / torch.linalg.norm(sd[name + ".weight"]))
print(json.dumps({"outputError": float((y2 - y).abs().max() / y.abs().max()), "weightErrors": errs}))`,
  undefined, [join(dir, 'mlp.pt'), reduced, join(dir, 'x.npy')]).toString()) as Loaded;
}

function compress(ranks: Record<string, number>): { out: string; report: { compressedBytes: number; predictedBytes: number; files: string[]; layers: { name: string; relativeError: number }[] } } {
  const work = tempDir();
  for (const f of ['model.safetensors.index.json', ...SHARDS]) copyFileSync(join(dir, f), join(work, f));
  const plan = join(work, 'plan.json');
  writeFileSync(plan, JSON.stringify({ layers: ranks }));
  const r = cli('compress', join(work, 'model.safetensors.index.json'), '--ranks', plan);
  assert.equal(r.code, 0, r.stderr);
  const out = join(work, 'model.reduced.safetensors.index.json');
  return { out, report: JSON.parse(readFileSync(`${out}.report.json`, 'utf8')) };
}

test('compress at the weights\' exact ranks: one reduced shard per input shard, loads in torch, same outputs', () => {
  const { out, report } = compress({ fc1: 6, fc2: 5 });
  const work = join(out, '..');
  const written = ['model.reduced-00001-of-00002.safetensors', 'model.reduced-00002-of-00002.safetensors', 'model.reduced.safetensors.index.json'];
  for (const f of written) assert.ok(readdirSync(work).includes(f), `${f} written`);
  assert.equal(report.compressedBytes, written.reduce((n, f) => n + statSync(join(work, f)).size, 0));
  assert.ok(report.compressedBytes <= 1.02 * report.predictedBytes + 4096, `${report.compressedBytes} B written for ${report.predictedBytes} B predicted`);
  const idx = JSON.parse(readFileSync(out, 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
  // fc2's bias sat in the second shard and stays there, renamed for the Sequential.
  assert.equal(idx.weight_map['fc2.1.bias'], written[1]);
  assert.equal(idx.weight_map['fc2.0.weight'], written[0]);
  const shardData = written.slice(0, 2).map((f) => {
    const b = readFileSync(join(work, f));
    return b.length - 8 - Number(b.readBigUInt64LE(0));
  });
  assert.equal(idx.metadata.total_size, shardData[0] + shardData[1]);
  const check = torchCheck(out);
  assert.ok(check.outputError < 1e-4, `output error ${check.outputError}`);
  assert.deepEqual(Object.keys(check.weightErrors).sort(), ['fc1', 'fc2']);
});

test('compress at lower ranks: the loaded weights\' error is the report\'s', () => {
  const { out, report } = compress({ fc1: 3, fc2: 2 });
  const check = torchCheck(out);
  for (const l of report.layers) {
    assert.ok(l.relativeError > 0.1, `${l.name} really truncated`);
    assert.ok(Math.abs(check.weightErrors[l.name] - l.relativeError) < 1e-4, `${l.name}: torch ${check.weightErrors[l.name]} vs report ${l.relativeError}`);
  }
});

test('a write that fails half-way leaves nothing behind', () => {
  const clash = join(dir, 'clash');
  const before = readdirSync(clash).sort();
  const plan = join(tempDir(), 'plan.json');
  writeFileSync(plan, JSON.stringify({ layers: { fc1: 6 } }));
  const r = cli('compress', join(clash, 'model.safetensors.index.json'), '--ranks', plan);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /fc1\.0\.weight/);
  assert.deepEqual(readdirSync(clash).sort(), before);
});

test('hostile indexes: exit 2 with one line naming the index', () => {
  const hostile = tempDir();
  for (const s of SHARDS) copyFileSync(join(dir, s), join(hostile, s));
  const outside = tempDir();
  copyFileSync(join(dir, SHARDS[0]), join(outside, 'elsewhere.safetensors'));
  symlinkSync(join(outside, 'elsewhere.safetensors'), join(hostile, 'link.safetensors'));
  mkdirSync(join(hostile, 'sub'));
  const map = (m: Record<string, string>): string => JSON.stringify({ metadata: {}, weight_map: m });
  const cases: [string, string, RegExp][] = [
    ['dotdot', map({ 'fc1.weight': `../${outside.split('/').pop()}/elsewhere.safetensors` }), /outside the model folder/],
    ['absolute', map({ 'fc1.weight': join(outside, 'elsewhere.safetensors') }), /outside the model folder/],
    ['symlink', map({ 'fc1.weight': 'link.safetensors' }), /outside the model folder/],
    ['missing', map({ 'fc1.weight': 'model-00003-of-00003.safetensors' }), /model-00003-of-00003\.safetensors.*ENOENT/],
    ['directory', map({ 'fc1.weight': 'sub' }), /not a regular file/],
    ['misplaced', map({ 'fc1.weight': SHARDS[1] }), /fc1\.weight is listed in shard model-00002-of-00002\.safetensors, which does not hold it/],
    ['no-map', JSON.stringify({ metadata: {} }), /no weight_map/],
    ['not-json', '{"weight_map": ', /not valid JSON/],
    ['many-shards', map(Object.fromEntries(Array.from({ length: MAX_SHARDS + 1 }, (_, i) => [`t${i}.weight`, `s${i}.safetensors`]))), /1025 shards, over the limit/],
    ['huge', `{"weight_map": {}}${' '.repeat(MAX_INDEX)}`, /over the 16 MB limit/],
  ];
  for (const [name, body, pattern] of cases) {
    const file = join(hostile, `${name}.safetensors.index.json`);
    writeFileSync(file, body);
    const r = cli('analyze', file);
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${name}: one line: ${r.stderr}`);
    assert.ok(lines[0].includes(file), `${name} names the file: ${lines[0]}`);
    assert.match(lines[0], pattern, name);
  }
});
