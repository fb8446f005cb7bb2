import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine } from '../../core/engines/select.js';
import { resolvePython } from '../../core/engines/torchWorker.js';
import { InputError } from '../../core/types.js';
import { cli, makeFixtures } from '../helpers/cli.js';
import { numpySingularValues, PYTHON } from '../helpers/python.js';
import { parseNpy } from '../../core/io/npy.js';

test('explicit engines: embedded, torch (with the given interpreter), and a clear error for tfjs-node', async () => {
  const embedded = await createEngine('embedded');
  assert.equal(embedded.name, 'embedded');
  await embedded.close();
  const torch = await createEngine('torch', { python: PYTHON });
  assert.equal(torch.name, 'torch');
  assert.match(torch.description, /^(CPU|CUDA|MPS) · /);
  await torch.close();
  await assert.rejects(createEngine('tfjs-node'), (e: Error) => e instanceof InputError && /@tensorflow\/tfjs-node/.test(e.message));
});

test('auto picks the embedded engine on a machine without a GPU driver', { skip: existsSync('/proc/driver/nvidia/version') || existsSync('/dev/nvidia0') }, async () => {
  const e = await createEngine('auto', { python: PYTHON });
  assert.equal(e.name, 'embedded');
  await e.close();
});

const dir = makeFixtures('test/fixtures/make_safetensors.py');
const model = join(dir, 'mlp-float32.safetensors');

test('analyze --engine torch --python runs the worker from the bundle and matches LAPACK', () => {
  const r = cli('analyze', model, '--json', '--engine', 'torch', '--python', PYTHON);
  assert.equal(r.code, 0, r.stderr);
  const layers: { name: string; rows: number; cols: number; singularValues: number[] }[] = JSON.parse(r.stdout).layers;
  for (const l of layers) assert.equal(l.singularValues.length, Math.min(l.rows, l.cols), l.name);
  const fc1 = layers.find((l) => l.name === 'fc1')!;
  const w = parseNpy(readFileSync(join(dir, 'fc1.npy')), 'fc1.npy');
  const ref = numpySingularValues(w.data as Float32Array, 256, 784);
  ref.forEach((s, j) => assert.ok(Math.abs(fc1.singularValues[j] - s) <= 1e-4 * ref[0], `fc1 σ[${j}]`));
});

test('analyze with an unusable interpreter or engine exits 2 with one line', () => {
  const r = cli('analyze', model, '--engine', 'torch', '--python', '/nonexistent/python3');
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'reducible: Python interpreter "/nonexistent/python3" was not found; pass --python or set REDUCIBLE_PYTHON\n');
  const t = cli('analyze', model, '--engine', 'tfjs-node');
  assert.equal(t.code, 2);
  assert.equal(t.stderr.trim().split('\n').length, 1);
  assert.match(t.stderr, /needs @tensorflow\/tfjs-node, which is not installed/);
});

test('the interpreter comes from --python, else REDUCIBLE_PYTHON, else Debian\'s python3', () => {
  const saved = process.env.REDUCIBLE_PYTHON;
  try {
    process.env.REDUCIBLE_PYTHON = '/opt/env/bin/python';
    assert.equal(resolvePython('/explicit/python'), '/explicit/python');
    assert.equal(resolvePython(), '/opt/env/bin/python');
    delete process.env.REDUCIBLE_PYTHON;
    assert.equal(resolvePython(), existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  } finally {
    if (saved === undefined) delete process.env.REDUCIBLE_PYTHON;
    else process.env.REDUCIBLE_PYTHON = saved;
  }
});
