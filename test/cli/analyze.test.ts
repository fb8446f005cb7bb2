import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, makeFixtures, tempDir } from '../helpers/cli.js';
import { numpySingularValues } from '../helpers/python.js';
import { parseNpy } from '../../core/io/npy.js';

const dir = makeFixtures('test/fixtures/make_safetensors.py');

test('analyze --json follows the contract and matches LAPACK', () => {
  const r = cli('analyze', join(dir, 'mlp-float32.safetensors'), '--json');
  assert.equal(r.code, 0, r.stderr);
  const a = JSON.parse(r.stdout);
  assert.equal(a.format, 'safetensors');
  assert.equal(a.fileBytes, readFileSync(join(dir, 'mlp-float32.safetensors')).length);
  const names = a.layers.map((l: { name: string }) => l.name).sort();
  assert.deepEqual(names, ['conv', 'embed', 'fc1', 'fc2', 'head']);
  const fc1 = a.layers.find((l: { name: string }) => l.name === 'fc1');
  assert.equal(fc1.kind, 'linear');
  assert.deepEqual(fc1.shape, [256, 784]);
  assert.equal(fc1.params, 256 * 784);
  assert.equal(fc1.singularValues.length, 256);
  const w = parseNpy(readFileSync(join(dir, 'fc1.npy')), 'fc1.npy');
  const ref = numpySingularValues(w.data as Float32Array, 256, 784);
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(fc1.singularValues[i] - ref[i]) <= 1e-4 * ref[0], `σ[${i}]`);
  assert.equal(fc1.breakEvenRank, 192);
  assert.ok(fc1.suggestedRank > 0 && fc1.suggestedRank < 192, `suggested ${fc1.suggestedRank}`);
  const conv = a.layers.find((l: { name: string }) => l.name === 'conv');
  assert.equal(conv.kind, 'conv2d');
  assert.equal(conv.singularValues.length, 32);
  const total = 256 * 784 + 256 + 128 * 256 + 128 + 10 * 128 + 32 * 16 * 9 + 1000 * 64;
  assert.equal(a.totalParams, total);
});

test('every float dtype reads to the same spectrum', () => {
  const spectra = ['float32', 'float64', 'float16', 'bfloat16'].map((d) => {
    const r = cli('analyze', join(dir, `mlp-${d}.safetensors`), '--json');
    assert.equal(r.code, 0, `${d}: ${r.stderr}`);
    return JSON.parse(r.stdout).layers.find((l: { name: string }) => l.name === 'fc2').singularValues as number[];
  });
  // bf16 keeps 8 bits of mantissa: agreement to ~1 % of σ_max is what the storage allows.
  const tolerances = [1e-6, 1e-3, 1e-2];
  spectra.slice(1).forEach((s, j) => s.forEach((v, i) => assert.ok(Math.abs(v - spectra[0][i]) <= tolerances[j] * spectra[0][0], `dtype ${j + 1} σ[${i}]`)));
});

test('human table lists every layer and a total line', () => {
  const r = cli('analyze', join(dir, 'mlp-float32.safetensors'), '--energy', '0.9');
  assert.equal(r.code, 0, r.stderr);
  for (const n of ['fc1', 'fc2', 'head', 'conv', 'embed']) assert.match(r.stdout, new RegExp(`^${n} `, 'm'));
  assert.match(r.stdout, /removable at 90\.0 % energy/);
});

function assertRefused(file: string, pattern: RegExp): void {
  const r = cli('analyze', file);
  assert.equal(r.code, 2, `exit code for ${file}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.ok(lines[0].includes(file), `names the file: ${lines[0]}`);
  assert.match(lines[0], pattern);
}

test('bad input: clear one-line refusals with exit code 2', () => {
  const bad = tempDir();
  const good = readFileSync(join(dir, 'mlp-float32.safetensors'));
  const put = (name: string, bytes: Uint8Array | string): string => { const p = join(bad, name); writeFileSync(p, bytes); return p; };
  assertRefused(join(bad, 'missing.safetensors'), /no such file/);
  assertRefused(put('empty.safetensors', ''), /truncated/);
  assertRefused(put('truncated.safetensors', good.subarray(0, good.length - 100)), /offsets outside the file/);
  const huge = Buffer.alloc(16); huge.writeBigUInt64LE(2n ** 40n); assertRefused(put('huge.safetensors', huge), /exceeds the 100 MB limit/);
  const past = Buffer.alloc(16); past.writeBigUInt64LE(1000n); assertRefused(put('past.safetensors', past), /runs past the end/);
  const hdr = (h: object): Buffer => { const j = Buffer.from(JSON.stringify(h)); const l = Buffer.alloc(8); l.writeBigUInt64LE(BigInt(j.length)); return Buffer.concat([l, j, Buffer.alloc(64)]); };
  assertRefused(put('overlap.safetensors', hdr({ a: { dtype: 'F32', shape: [4, 4], data_offsets: [0, 64] }, b: { dtype: 'F32', shape: [2, 2], data_offsets: [32, 48] } })), /overlap/);
  assertRefused(put('negative.safetensors', hdr({ a: { dtype: 'F32', shape: [-4, 4], data_offsets: [0, 64] } })), /invalid shape/);
  assertRefused(put('overflow.safetensors', hdr({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 64] } })), /invalid shape/);
  assertRefused(put('dtype.safetensors', hdr({ a: { dtype: 'C64', shape: [4, 4], data_offsets: [0, 64] } })), /unsupported dtype/);
  // Found by the long fuzz run: a dtype object whose own "toString" key is a number made String() throw a TypeError.
  put('w.bin', Buffer.alloc(16));
  assertRefused(put('tf3.json', JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'k', shape: [2, 2], dtype: { toString: 1 } }] }] })), /weight k has unsupported dtype \{"toString":1\}/);
  assertRefused(put('tf4.json', JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: [{ toString: 1 }], weights: [] }] })), /\{"toString":1\}/);
  assertRefused(put('dtype-object.safetensors', hdr({ a: { dtype: { toString: 1e308, valueOf: 2 }, shape: [4, 4], data_offsets: [0, 64] } })), /unsupported dtype \{"toString":1e\+308,"valueOf":2\}/);
  assertRefused(put('notjson.safetensors', Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{{{{')])), /not valid JSON/);
  assertRefused(put('model.xyz', 'hello'), /unsupported model format/);
  assertRefused(put('x.json', '{"a":1}'), /not a TF\.js layers or TF\.js graph model/);
  assertRefused(put('tf.json', JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['../../etc/passwd'], weights: [] }] })), /outside the model folder/);
  assertRefused(put('tf2.json', JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'k', shape: [100, 100], dtype: 'float32' }] }] }).replace('w.bin', 'w.bin')), /w\.bin|truncated/);
});

test('bad usage: exit code 2', () => {
  assert.equal(cli('analyze').code, 2);
  assert.equal(cli('analyze', 'a', '--energy', '1.5').code, 2);
  assert.equal(cli('analyze', 'a', '--bogus').code, 2);
  assert.equal(cli('frobnicate').code, 2);
});

test('--help after a command prints that command\'s usage, exit 0, and runs nothing', () => {
  for (const name of ['analyze', 'compress', 'evaluate']) {
    const r = cli(name, 'no-such-model.onnx', '--help');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^usage:\\n  reducible ${name} `));
    assert.equal(r.stderr, '');
  }
});
