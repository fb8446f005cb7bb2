// Files that are not files: a FIFO (or a device) wherever a path can come from — the model
// itself in every format, a TF.js weight file, a safetensors shard of an index, ONNX external
// data, a calibration array. (A --ranks plan and a --job request are read once and may come
// through a pipe, `--ranks <(…)`: test/cli/compress.test.ts.) Opening a FIFO for reading
// waits for a writer, so each of these used to hang `analyze` and `compress` for ever. Each is
// now refused: exit 2, one line naming the file, within 10 s, nothing written beside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { makeFixtures, tempDir } from '../helpers/cli.js';

const BOUND_MS = 10_000;

function mkfifo(path: string): void {
  rmSync(path, { force: true });
  const r = spawnSync('mkfifo', [path], { encoding: 'utf8' });
  assert.equal(r.status, 0, `mkfifo ${path}: ${r.stderr}`);
}

/** Runs the built CLI with the hang bound; asserts a one-line exit-2 refusal naming `named` and nothing new in `dir`. */
function assertRefused(args: string[], named: string, dir: string, input?: string): void {
  const before = readdirSync(dir).sort();
  const started = performance.now();
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', timeout: BOUND_MS, killSignal: 'SIGKILL', input });
  const what = args.join(' ');
  assert.equal(r.error, undefined, `${what}: did not end within ${BOUND_MS / 1000} s (${r.error})`);
  assert.equal(r.status, 2, `${what}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: one line: ${r.stderr}`);
  assert.ok(lines[0].includes(named), `${what}: names ${named}: ${lines[0]}`);
  assert.match(lines[0], /not a regular file \(a (?:FIFO|character device)\)/, what);
  assert.ok(performance.now() - started < BOUND_MS);
  assert.deepEqual(readdirSync(dir).sort(), before, `${what}: nothing written`);
}

test('a FIFO given as the model is refused in every format, by analyze and compress', () => {
  const dir = tempDir();
  for (const name of ['model.json', 'm.onnx', 'm.h5', 'm.keras', 'm.safetensors', 'm.pt', 'm.safetensors.index.json']) {
    const path = join(dir, name);
    mkfifo(path);
    assertRefused(['analyze', path], path, dir);
    assertRefused(['compress', path, '--ratio', '0.5'], path, dir);
  }
});

test('a character device given as the model (a symlink to /dev/zero) is refused', () => {
  const dir = tempDir();
  const path = join(dir, 'zero.onnx');
  symlinkSync('/dev/zero', path);
  assertRefused(['analyze', path], path, dir);
  assertRefused(['compress', path, '--ratio', '0.5'], path, dir);
});

test('a FIFO as a TF.js weight file is refused', () => {
  const dir = tempDir();
  copyFileSync('examples/digits/model.json', join(dir, 'model.json'));
  mkfifo(join(dir, 'weights.bin'));
  assertRefused(['analyze', join(dir, 'model.json')], 'weights.bin', dir);
  assertRefused(['compress', join(dir, 'model.json'), '--ratio', '0.5'], 'weights.bin', dir);
});

test('a FIFO as a safetensors shard of an index is refused', () => {
  const dir = makeFixtures('test/fixtures/make_safetensors_shards.py');
  const shard = 'model-00002-of-00002.safetensors';
  mkfifo(join(dir, shard));
  const index = join(dir, 'model.safetensors.index.json');
  assertRefused(['analyze', index], shard, dir);
  assertRefused(['compress', index, '--ratio', '0.5'], shard, dir);
});

test('a FIFO as ONNX external data is refused', () => {
  const dir = makeFixtures('test/fixtures/make_onnx.py');
  mkfifo(join(dir, 'external.onnx.data'));
  assertRefused(['analyze', join(dir, 'external.onnx')], 'external.onnx.data', dir);
  assertRefused(['compress', join(dir, 'external.onnx'), '--ratio', '0.5'], 'external.onnx.data', dir);
});

test('a FIFO as the calibration inputs is refused', () => {
  const dir = tempDir();
  for (const f of ['model.json', 'weights.bin']) copyFileSync(join('examples/digits', f), join(dir, f));
  const model = join(dir, 'model.json');
  const calibration = join(dir, 'calib.npz');
  mkfifo(calibration);
  assertRefused(['compress', model, '--ratio', '0.5', '--method', 'whitened', '--calibration', `${calibration}:x`], calibration, dir);
});
