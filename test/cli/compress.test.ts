import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/cli.js';
import { lowRankMlp, smallCnn } from '../fixtures/tfjsModels.js';
import { loadTfjsLayers } from '../../core/formats/tfjs/runtime.js';
import type { Tensor } from '../../core/eval/tensor.js';

async function runTfjs(path: string, x: Tensor): Promise<Tensor> {
  const m = await loadTfjsLayers(path);
  try {
    return (await m.run(x))[0];
  } finally {
    await m.dispose();
  }
}
import { randomMatrix } from '../helpers/random.js';

const hash = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

function exampleCopy(): string {
  const dir = tempDir();
  for (const f of ['model.json', 'weights.bin']) copyFileSync(join('examples/fashion-mnist', f), join(dir, f));
  return join(dir, 'model.json');
}

function relDiff(a: Float32Array, b: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += a[i] ** 2; }
  return Math.sqrt(num / den);
}

test('tfjs: exact factorisation of a rank-6 layer gives the same outputs in stock tfjs', async () => {
  const dir = tempDir();
  const model = await lowRankMlp(dir, 6);
  writeFileSync(join(dir, 'plan.json'), JSON.stringify({ layers: { hidden: 6 } }));
  const before = hash(model);
  const r = cli('compress', model, '--ranks', join(dir, 'plan.json'), '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  const out = join(dir, 'model.reduced.json');
  assert.equal(report.output, out);
  assert.equal(hash(model), before, 'original untouched');
  const topo = JSON.parse(readFileSync(out, 'utf8')).modelTopology.config.layers.map((l: { config: { name: string } }) => l.config.name);
  assert.deepEqual(topo, ['hidden_u', 'hidden_v', 'out']);
  assert.ok(report.layers[0].relativeError < 1e-5);
  const x = { data: randomMatrix(64, 40, 5), shape: [64, 40] };
  const [ya, yb] = [await runTfjs(model, x), await runTfjs(out, x)];
  assert.ok(relDiff(ya.data, yb.data) < 1e-4, `outputs differ by ${relDiff(ya.data, yb.data)}`);
  // Report contract and real size.
  for (const k of ['originalParams', 'compressedParams', 'originalBytes', 'compressedBytes', 'predictedBytes']) assert.equal(typeof report[k], 'number', k);
  const onDisk = statSync(out).size + statSync(join(dir, 'model.reduced.weights.bin')).size;
  assert.equal(report.compressedBytes, onDisk);
  assert.ok(onDisk <= 1.02 * report.predictedBytes + 4096);
  assert.deepEqual(JSON.parse(readFileSync(`${out}.report.json`, 'utf8')), report);
});

test('tfjs: the example at 34 % of params is ≥ 64 % smaller on disk and loads in tfjs', () => {
  const model = exampleCopy();
  for (const dtype of [undefined, 'f16', 'int8']) {
    const out = model.replace('model.json', `out-${dtype ?? 'src'}.json`);
    const r = cli('compress', model, '--ratio', '0.34', '-o', out, '--json', ...(dtype ? ['--dtype', dtype] : []));
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    assert.ok(rep.compressedParams <= 0.34 * rep.originalParams, `params ${rep.compressedParams}`);
    assert.ok(rep.compressedBytes <= 1.02 * rep.predictedBytes + 4096, `${rep.compressedBytes} vs predicted ${rep.predictedBytes}`);
    if (!dtype) assert.ok(rep.compressedBytes <= 0.36 * rep.originalBytes, `bytes ${rep.compressedBytes} of ${rep.originalBytes}`);
    const ev = cli('evaluate', model, out, '--json');
    assert.equal(ev.code, 0, ev.stderr);
    const e = JSON.parse(ev.stdout);
    assert.ok(e.top1Agreement > 0.8, `agreement ${e.top1Agreement}`);
  }
});

test('tfjs: Conv2D layers factorise into Conv(k) + Conv 1×1 and run in tfjs', async () => {
  const dir = tempDir();
  const model = await smallCnn(dir);
  writeFileSync(join(dir, 'plan.json'), JSON.stringify({ layers: { c1: 6, c2: 10 } }));
  const r = cli('compress', model, '--ranks', join(dir, 'plan.json'), '--json');
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout);
  const out = rep.output;
  const names = JSON.parse(readFileSync(out, 'utf8')).modelTopology.config.layers.map((l: { config: { name: string } }) => l.config.name);
  assert.deepEqual(names, ['c1_u', 'c1_v', 'c2_u', 'c2_v', 'flat', 'head']);
  const x = { data: randomMatrix(8, 12 * 12 * 3, 9), shape: [8, 12, 12, 3] };
  const [ya, yb] = [await runTfjs(model, x), await runTfjs(out, x)];
  const worst = Math.max(...rep.layers.map((l: { relativeError: number }) => l.relativeError));
  assert.ok(relDiff(ya.data, yb.data) < 0.2 + worst, `output error ${relDiff(ya.data, yb.data)}`);
});

test('compress: bad plans and flags are refused with exit 2, nothing written, original untouched', () => {
  const model = exampleCopy();
  const dir = join(model, '..');
  const before = hash(model);
  const plan = (p: object): string => { const f = join(dir, `plan-${Math.random()}.json`); writeFileSync(f, JSON.stringify(p)); return f; };
  const cases: [string[], RegExp][] = [
    [['--ranks', plan({ layers: { nope: 3 } })], /unknown layer "nope"/],
    [['--ranks', plan({ layers: { dense_1: 0 } })], /outside 1\.\.512/],
    [['--ranks', plan({ layers: { dense_1: 9999 } })], /outside 1\.\.512/],
    [['--ratio', '0'], /--ratio must be a number in \(0, 1\]/],
    [['--ratio', '1.5'], /--ratio/],
    [['--ratio', '0.0001'], /below the smallest reachable ratio/],
    [['--ratio', '0.5', '--energy', '0.9'], /exactly one of/],
    [['--ratio', '0.5', '-o', model], /output path is the input/],
    [['--ratio', '0.5', '--dtype', 'f8'], /--dtype must be/],
  ];
  for (const [args, msg] of cases) {
    const r = cli('compress', model, ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.equal(cli('compress', model, '--ratio', '0.5').code, 0);
  const again = cli('compress', model, '--ratio', '0.5');
  assert.equal(again.code, 2);
  assert.match(again.stderr, /exists \(use --force/);
  assert.equal(cli('compress', model, '--ratio', '0.5', '--force').code, 0);
  assert.equal(hash(model), before);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

test('compress: an output folder that cannot be written fails cleanly with no partial files', () => {
  const model = exampleCopy();
  for (const out of [join(model, '..', 'missing', 'x.json'), '/proc/x.json']) {
    const r = cli('compress', model, '--ratio', '0.5', '-o', out);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cannot write output/);
    assert.equal(existsSync(out), false);
  }
  assert.deepEqual(readdirSync(join(model, '..')).filter((f) => f.includes('.tmp')), []);
});

test('compress --ranks: the plan\'s dtype (what the panel exports) sets the factors\' precision unless --dtype is given', async () => {
  const dir = tempDir();
  const model = await lowRankMlp(dir, 6);
  const plan = (p: object): string => { const f = join(dir, `plan-${Math.random()}.json`); writeFileSync(f, JSON.stringify(p)); return f; };
  const dtypes = (...args: string[]): string[] => {
    const r = cli('compress', model, ...args, '--json', '--force');
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { layers: { dtype: string }[] }).layers.map((l) => l.dtype);
  };
  assert.deepEqual(dtypes('--ranks', plan({ layers: { hidden: 6 }, dtype: 'f16' })), ['f16']);
  assert.deepEqual(dtypes('--ranks', plan({ layers: { hidden: 6 }, dtype: 'f16' }), '--dtype', 'int8'), ['int8']);
  assert.deepEqual(dtypes('--ranks', plan({ layers: { hidden: 6 } })), ['f32']);
  // The plan is read once, so it may come through a pipe, as `--ranks <(…)` passes it.
  const piped = spawnSync('bash', ['-c', `"${process.execPath}" dist/cli.js compress "${model}" --ranks <(echo '{"layers": {"hidden": 5}, "dtype": "f16"}') --json --force`], { encoding: 'utf8' });
  assert.equal(piped.status, 0, piped.stderr);
  assert.deepEqual((JSON.parse(piped.stdout) as { layers: { rank: number; dtype: string }[] }).layers.map((l) => [l.rank, l.dtype]), [[5, 'f16']]);
  const bad = cli('compress', model, '--ranks', plan({ layers: { hidden: 6 }, dtype: 'f8' }), '--force');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /dtype must be f32, f16, int8, got "f8"/);
});
