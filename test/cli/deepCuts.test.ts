// A data-free plan that leaves a layer less than half of its energy is refused before anything
// is written (less than 70 % of its energy), naming the layers and the data-aware method; --allow-deep-cuts writes it anyway,
// and the data-aware method is not held to the rule (it measures instead).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/cli.js';

const MLP = 'examples/fashion-mnist/model.json';

test('a deep data-free cut is refused in one line naming the layers and the data-aware method; --allow-deep-cuts writes it', () => {
  const dir = tempDir();
  const out = join(dir, 'small.json');
  const refused = cli('compress', MLP, '--ratio', '0.1', '-o', out);
  assert.equal(refused.code, 2, refused.stderr);
  const line = refused.stderr.trim();
  assert.equal(line.split('\n').length, 1, line);
  assert.match(line, /model\.json: --ratio 0\.1 cuts \d layers? below 70 % of (its|their) energy: dense_\d at rank \d+ of \d+ \(\d+ % kept\)/);
  assert.match(line, /--method whitened --calibration/);
  assert.match(line, /--allow-deep-cuts/);
  assert.deepEqual(readdirSync(dir), [], 'nothing written');

  const written = cli('compress', MLP, '--ratio', '0.1', '--allow-deep-cuts', '-o', out, '--json');
  assert.equal(written.code, 0, written.stderr);
  const report = JSON.parse(written.stdout) as { layers: { name: string; relativeError: number }[] };
  // The refusal named the layers written past the rule (less than 70 % of the energy).
  const deep = report.layers.filter((l) => 1 - l.relativeError ** 2 < 0.7).map((l) => l.name);
  assert.ok(deep.length > 0);
  for (const name of deep) assert.ok(line.includes(name) || /and \d+ more/.test(line), `${name} in: ${line}`);
  assert.ok(existsSync(out));
});

test('a plan keeping 70 % of every layer\'s energy is written without a word about it', () => {
  const out = join(tempDir(), 'half.json');
  const r = cli('compress', MLP, '--ratio', '0.5', '-o', out);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /energy/);
  const report = JSON.parse(readFileSync(`${out}.report.json`, 'utf8')) as { layers: { relativeError: number }[] };
  assert.ok(report.layers.every((l) => 1 - l.relativeError ** 2 >= 0.7));
});

test('explicit ranks and the data-aware method are the user\'s measured choice: not refused', () => {
  const dir = tempDir();
  const plan = join(dir, 'plan.json');
  const ranks = cli('compress', MLP, '--ranks', writePlan(plan, { dense_1: 2, dense_2: 2 }), '-o', join(dir, 'r.json'));
  assert.equal(ranks.code, 0, ranks.stderr);
  const whitened = cli('compress', MLP, '--ratio', '0.1', '--method', 'whitened', '--calibration', 'examples/fashion-mnist/calib.npz:x', '-o', join(dir, 'w.json'));
  assert.equal(whitened.code, 0, whitened.stderr);
});

function writePlan(path: string, layers: Record<string, number>): string {
  writeFileSync(path, JSON.stringify({ layers }));
  return path;
}
