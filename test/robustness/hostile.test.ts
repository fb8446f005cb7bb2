// Hostile files the format suites do not already cover, through the built CLI: pickles that
// would run code through eval / exec / subprocess / arbitrary reduce globals, .keras archives
// with overlapping entries, HDF5 datasets with absurd dimensions, TF.js weights reached through
// a symlink out of the folder. Each is refused with exit code 2 and one line naming the file,
// within the spawn's time bound, and nothing it asked for is run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { makeFixtures, tempDir } from '../helpers/cli.js';
import { python } from '../helpers/python.js';
import { lowRankMlp } from '../fixtures/tfjsModels.js';

/** Runs `reducible analyze` with a hang bound; asserts a one-line exit-2 refusal naming the file. */
function assertRefused(file: string, pattern: RegExp): void {
  const r = spawnSync(process.execPath, ['dist/cli.js', 'analyze', file], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.error, undefined, `${file}: ${r.error}`);
  assert.equal(r.status, 2, `${file}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0].includes(file), `names the file: ${lines[0]}`);
  assert.match(lines[0], pattern);
}

test('PyTorch checkpoints whose pickle would call eval, exec, subprocess or getattr are refused and nothing runs', () => {
  const dir = tempDir();
  const marker = join(dir, 'ran');
  // Each payload creates `marker` if it is ever executed.
  const payloads: [string, string, RegExp][] = [
    ['eval', `(eval, ("open(%r, 'w')" % MARKER,))`, /refusing pickle global (?:__builtin__|builtins)\.eval/],
    ['exec', `(exec, ("open(%r, 'w')" % MARKER,))`, /refusing pickle global (?:__builtin__|builtins)\.exec/],
    ['popen', '(subprocess.Popen, (["touch", MARKER],))', /refusing pickle global (?:subprocess|commands)\.Popen/],
    ['getattr', '(getattr, ("os", "system"))', /refusing pickle global (?:__builtin__|builtins)\.getattr/],
    ['import', `(__import__, ("os",))`, /refusing pickle global (?:__builtin__|builtins)\.__import__/],
  ];
  for (const [name, reduce, refusal] of payloads) {
    python(`import os, subprocess, sys, torch
MARKER = sys.argv[2]
class Payload:
    def __reduce__(self):
        return ${reduce}
torch.save({"w.weight": torch.zeros(2, 2), "x": Payload()}, sys.argv[1])`, undefined, [join(dir, `${name}.pt`), marker]);
    assertRefused(join(dir, `${name}.pt`), refusal);
  }
  assert.equal(existsSync(marker), false, 'no payload ran');
});

/** Offsets of a zip's central-directory records. */
function centralRecords(zip: Uint8Array): number[] {
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= zip.length; i++) if (dv.getUint32(i, true) === 0x02014b50) out.push(i);
  return out;
}

test('.keras archives whose entries overlap or declare absurd sizes are refused', () => {
  const dir = tempDir();
  const src = makeFixtures('test/fixtures/make_keras.py');
  const weights = new Uint8Array(readFileSync(join(src, 'mlp.h5')));
  const archive = (): Uint8Array => zipSync({ 'config.json': new TextEncoder().encode('{"class_name": "Sequential", "config": {"layers": []}}'), 'model.weights.h5': weights }, { level: 0 });
  // Both central records point at the first local header: the weights entry overlaps config.json.
  const overlap = archive();
  const [first, second] = centralRecords(overlap);
  const dv = new DataView(overlap.buffer);
  dv.setUint32(second + 42, dv.getUint32(first + 42, true), true);
  writeFileSync(join(dir, 'overlap.keras'), overlap);
  assertRefused(join(dir, 'overlap.keras'), /not a valid \.keras zip archive|not a readable HDF5 file|overlap/);
  // Every entry claims 2 GiB − 1 uncompressed: together past the archive limit.
  const sizes = archive();
  for (const at of centralRecords(sizes)) new DataView(sizes.buffer).setUint32(at + 24, 0x7fffffff, true);
  writeFileSync(join(dir, 'sizes.keras'), sizes);
  assertRefused(join(dir, 'sizes.keras'), /declare \d+ bytes in all|declares \d+ bytes but holds \d+/);
});

test('HDF5 kernels with absurd dimensions (legacy .h5 and .keras weights) are refused without allocating them', () => {
  const dir = tempDir();
  const src = makeFixtures('test/fixtures/make_keras.py');
  // The same files with the first Dense kernel replaced by an unallocated 2^31 × 2^31 dataset:
  // the file stays small, the declared tensor is 16 EiB.
  python(`import h5py, shutil, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
def absurd(f, group):
    kernels = []
    f[group].visititems(lambda n, o: kernels.append(n) if isinstance(o, h5py.Dataset) and len(o.shape) == 2 else None)
    full = f"{group}/{kernels[0]}"
    del f[full]
    f.create_dataset(full, shape=(2**31, 2**31), maxshape=(None, None), chunks=(64, 64), dtype="f4")
shutil.copy(f"{src}/mlp.h5", f"{out}/absurd.h5")
with h5py.File(f"{out}/absurd.h5", "a") as f:
    absurd(f, "model_weights")
with zipfile.ZipFile(f"{src}/mlp.keras") as z:
    z.extractall(f"{out}/unpacked")
with h5py.File(f"{out}/unpacked/model.weights.h5", "a") as f:
    absurd(f, "layers")
with zipfile.ZipFile(f"{out}/absurd.keras", "w") as z:
    for n in ["metadata.json", "config.json", "model.weights.h5"]:
        z.write(f"{out}/unpacked/{n}", n)`, undefined, [src, dir]);
  assertRefused(join(dir, 'absurd.h5'), /too large|invalid shape|exceeds|bytes|is stored as 2147483648×2147483648 but the layer's config says/);
  assertRefused(join(dir, 'absurd.keras'), /too large|invalid shape|exceeds|bytes|is stored as 2147483648×2147483648 but the layer's config says/);
});

test('TF.js weights reached through a symlink out of the model folder are refused', async () => {
  const outside = tempDir();
  const dir = tempDir();
  await lowRankMlp(outside, 3);
  const model = JSON.parse(readFileSync(join(outside, 'model.json'), 'utf8'));
  writeFileSync(join(dir, 'model.json'), JSON.stringify(model));
  symlinkSync(join(outside, 'model.weights.bin'), join(dir, 'model.weights.bin'));
  assertRefused(join(dir, 'model.json'), /weight file path "model\.weights\.bin" points outside the model folder/);
  writeFileSync(join(dir, 'absolute.json'), JSON.stringify({ ...model, weightsManifest: [{ ...model.weightsManifest[0], paths: [join(outside, 'model.weights.bin')] }] }));
  assertRefused(join(dir, 'absolute.json'), /points outside the model folder/);
});
