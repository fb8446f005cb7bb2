// Every crash the fuzzer found, replayed (a refusal spanning several lines counts as one): the seed fixture and the mutation that broke a reader
// (the mutation is the generator: applied to the fixture the scripts make, it rebuilds the
// bytes), plus hand-built files for the same bugs. Each must now be refused with an InputError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { tempDir } from '../helpers/cli.js';
import { makeSeeds } from './fuzz/seeds.js';
import { inputFiles, readFully } from './fuzz/worker.js';
import type { Mutation } from './fuzz/mutations.js';
import { setHdf5Limits } from '../../core/formats/containers/h5Remote.js';
import { openModel } from '../../core/formats/open.js';
import { InputError } from '../../core/types.js';

const seeds = await makeSeeds(['keras-h5', 'keras', 'tfjs', 'onnx', 'pytorch']);

/** Writes the mutated seed into a fresh folder; returns the model path and the folder. */
function replay(seedId: string, mutation: Mutation): { path: string; dir: string } {
  const dir = tempDir();
  const files = inputFiles(seeds.find((s) => s.id === seedId)!, mutation);
  for (const f of files) writeFileSync(join(dir, f.name), f.bytes);
  return { path: join(dir, files[0].name), dir };
}

/** A legacy .h5 on which libhdf5 loops (found by the fuzzer, CI seed). */
const LOOPING_H5: Mutation = { file: 5, bytes: [{ k: 'field', which: 1066020527, delta: 12 }, { k: 'field', which: 1073741802, delta: 15 }], json: [] };

const FOUND: [string, string, Mutation, RegExp][] = [
  ['HDF5 error after opening (dataspace dim above its max) was a raw Error', 'functional.h5',
    { file: 1, bytes: [{ k: 'field', which: 455969477, delta: 14 }], json: [] }, /corrupt HDF5 file \(.*greater than maxdim/],
  ['HDF5 vlen attribute that fails to read aborted the wasm module, then exhausted the heap', 'mlp.h5',
    { file: 3, bytes: [{ k: 'splice', from: 155749987, len: 1263, to: 1046639117, mode: 'insert' }], json: [] }, /corrupt HDF5 file/],
  ['.keras entry name with control bytes gave a multi-line refusal', 'functional.keras',
    { file: 6, bytes: [{ k: 'int', at: 723972844, width: 8, value: '18189316354673220993' }, { k: 'splice', from: 339698050, len: 3874, to: 360754097, mode: 'insert' }, { k: 'flip', at: 537766193, bit: 6 }], json: [] }, /./],
  ['.keras weights whose structure recursed until the wasm stack overflowed (RangeError)', 'mlp.keras',
    { file: 6, bytes: [{ k: 'field', which: 641940051, delta: -1 }], json: [] }, /corrupt HDF5 file/],
  ['.keras whose weights exhausted a 256 MB JS heap inside h5wasm (long run, seed 1, #24301): a dataspace dim above its max', 'functional.keras',
    { file: 1, bytes: [{ k: 'field', which: 1073741817, value: '2080077836351442155' }, { k: 'set', at: 1047306126, v: 252 }], json: [] }, /corrupt HDF5 file \(.*greater than maxdim/],
  // Found by the long run once HDF5 moved into its worker (seed 10000007): h5wasm's own errors
  // escaped as raw Errors. (Its WebAssembly traps there came after thousands of inputs in one
  // module and do not replay alone; the worker is now retired after a trap.)
  ['HDF5 h5wasm error "name not defined!" was a raw Error', 'functional.h5',
    { file: 2, bytes: [{ k: 'set', at: 324116227, v: 200 }], json: [] }, /corrupt HDF5 file \(name not defined\)$/],
  ['.keras config.json parse error quoting a newline from the file', 'mlp.keras',
    { file: 0, bytes: [{ k: 'int', at: 1042507176, width: 2, value: '13277730003879858954' }, { k: 'flip', at: 596722489, bit: 0 }, { k: 'splice', from: 445928656, len: 304, to: 170451353, mode: 'overwrite' }], json: [] }, /config\.json is not valid JSON/],
  ['ONNX tensor name with newlines in a refusal', 'external.onnx',
    { file: 4, bytes: [{ k: 'set', at: 303485029, v: 54 }, { k: 'int', at: 540163318, width: 1, value: '10659058823594216049' }, { k: 'set', at: 943880709, v: 49 }], json: [] }, /names no location/],
  ['PyTorch zip entry name with newlines in a refusal', 'deflated.pt',
    { file: 2, bytes: [{ k: 'set', at: 484059514, v: 254 }, { k: 'field', which: 397460301, value: '127' }, { k: 'set', at: 763649531, v: 230 }], json: [] }, /escapes the archive/],
  ['TF.js manifest entry without a string name crashed findWeight', 'small-cnn',
    { file: 4, bytes: [], json: [{ node: 2588076, op: 'duplicate', value: true }, { node: 847583381, op: 'duplicate', value: 2147483648 }, { node: 306879010, op: 'replace', value: 'Dense' }] }, /weightsManifest entry has no name/],
  ['TF.js manifest entry name replaced by an object crashed findWeight', 'low-rank-mlp',
    { file: 2, bytes: [], json: [{ node: 684084994, op: 'duplicate', value: 1e308 }, { node: 283148061, op: 'delete', value: {} }] }, /weightsManifest entry has no name/],
  ['TF.js graph node input replaced by a number crashed graphLayers', 'graph-cnn',
    { file: 2, bytes: [], json: [{ node: 433867328, op: 'replace', value: 1.5 }] }, /graph node \d+ is malformed/],
  ['TF.js graph modelTopology.node replaced by a number crashed graphLayers', 'graph-cnn',
    { file: 2, bytes: [], json: [{ node: 170851453, op: 'replace', value: -1 }, { node: 751144206, op: 'duplicate', value: true }] }, /modelTopology\.node is not a list/],
];

for (const [what, seed, mutation, refusal] of FOUND) {
  test(`fuzz find: ${what}`, async () => {
    const { path, dir } = replay(seed, mutation);
    // The HDF5 worker's 10 s deadline would answer for a slow refusal on a loaded machine (the
    // stack-overflow case takes 7 s alone, over 10 s beside the regression suite): each find
    // must be refused for its own reason.
    setHdf5Limits({ timeoutMs: 60_000 });
    const r = await readFully(path, dir).finally(() => setHdf5Limits({ timeoutMs: 10_000 }));
    assert.equal(r.kind, 'refused', 'message' in r ? r.message : 'read without error');
    assert.match((r as { message: string }).message, refusal);
  });
}

test('after a corrupt HDF5 attribute, the next clean Keras file still reads (the wasm module survives)', async () => {
  const bad = replay('mlp.h5', FOUND[1][2]);
  assert.equal((await readFully(bad.path, bad.dir)).kind, 'refused');
  const good = replay('mlp.h5', { file: 0, bytes: [], json: [] });
  assert.deepEqual(await readFully(good.path, good.dir), { kind: 'ok' });
});

/** Descriptors open in this process (Linux), to see that refusals close what they opened. */
const openFds = (): number => readdirSync('/proc/self/fd').length;

test('TF.js refusals close every shard they opened (a missing second shard, a nameless weight)', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'a.bin'), new Uint8Array(64));
  const topology = { class_name: 'Sequential', config: { layers: [{ class_name: 'Dense', config: { name: 'd', units: 4 } }] } };
  const write = (name: string, manifest: unknown): string => { writeFileSync(join(dir, name), JSON.stringify({ format: 'layers-model', modelTopology: topology, weightsManifest: manifest })); return join(dir, name); };
  const missing = write('missing.json', [{ paths: ['a.bin', 'b.bin'], weights: [] }]);
  const nameless = write('nameless.json', [{ paths: ['a.bin'], weights: [{ name: null, shape: [4, 4], dtype: 'float32' }] }]);
  const before = openFds();
  for (let i = 0; i < 20; i++) {
    for (const [file, why] of [[missing, /weight file b\.bin/], [nameless, /has no name/]] as const) {
      await assert.rejects(openModel(file), (e: unknown) => e instanceof InputError && why.test(e.message));
    }
  }
  assert.equal(openFds(), before, 'no descriptor left open');
});

test('.keras entry names with newlines are quoted onto one line', async () => {
  const file = join(tempDir(), 'names.keras');
  writeFileSync(file, zipSync({ 'config.json': new TextEncoder().encode('{}'), '../x\nreducible: fake second line': new Uint8Array(1) }));
  await assert.rejects(openModel(file), (e: unknown) => e instanceof InputError && !e.message.includes('\n') && e.message.includes('"../x\\nreducible: fake second line"'));
});

// libhdf5 loops forever on this file (h5py with native libhdf5 too): the HDF5 worker's deadline
// (containers/h5Remote.ts, 10 s by default) stops it, and the CLI says so in one line.
test('HDF5: a corrupt variable-length attribute on which libhdf5 loops is refused when the HDF5 worker deadline passes', () => {
  const { path } = replay('mlp.h5', LOOPING_H5);
  const r = spawnSync(process.execPath, ['dist/cli.js', 'analyze', path], { encoding: 'utf8', timeout: 90_000 });
  assert.equal(r.error, undefined, 'analyze returned');
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.ok(r.stderr.includes(`${path}: HDF5 reader did not finish in 10 s (corrupt file?)`), r.stderr);
});

test('HDF5: after h5wasm refused a file, the next Keras file still reads', async () => {
  const bad = replay('functional.h5', { file: 2, bytes: [{ k: 'set', at: 324116227, v: 200 }], json: [] });
  assert.match((await readFully(bad.path, bad.dir) as { message: string }).message, /name not defined/);
  const good = replay('functional.h5', { file: 0, bytes: [], json: [] });
  assert.deepEqual(await readFully(good.path, good.dir), { kind: 'ok' });
});

test('HDF5: after a looping file was stopped, the next Keras file reads in a fresh HDF5 worker', async () => {
  setHdf5Limits({ timeoutMs: 1000 });
  try {
    const bad = replay('mlp.h5', LOOPING_H5);
    const r = await readFully(bad.path, bad.dir);
    assert.deepEqual(r, { kind: 'refused', message: `${bad.path}: HDF5 reader did not finish in 1 s (corrupt file?)` });
    const good = replay('functional.keras', { file: 0, bytes: [], json: [] });
    assert.deepEqual(await readFully(good.path, good.dir), { kind: 'ok' });
  } finally {
    setHdf5Limits({ timeoutMs: 10_000 });
  }
});
