// The torch engine reading layers from the model's files and writing factors to files itself
// (Engine.files): checked against the embedded engine, on Debian's CPU PyTorch.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { compressFile } from '../../core/compress/job.js';
import { evaluate } from '../../core/eval/evaluate.js';
import { formatOf } from '../../core/formats/registry.js';
import { EmbeddedEngine } from '../../core/engines/embedded.js';
import { TorchEngine } from '../../core/engines/torch.js';
import { floatToHalf, halfToFloat, transpose } from '../../core/io/decode.js';
import { reductionBytes } from '../../core/linalg/reductionFile.js';
import { InputError, type FileDType, type MatrixInFile } from '../../core/types.js';
import { makeFixtures, tempDir } from '../helpers/cli.js';
import { PYTHON } from '../helpers/python.js';
import { lowRankMatrix } from '../helpers/random.js';
import { reconstructionError } from './svdCheck.js';

let torch: TorchEngine;
const embedded = new EmbeddedEngine(2);
before(async () => { torch = await TorchEngine.start({ python: PYTHON }); });
after(async () => { await Promise.all([torch.close(), embedded.close()]); });

const dir = tempDir();
const geometric = (k: number, ratio: number): number[] => Array.from({ length: k }, (_, i) => ratio ** i);

/** The values as a file stores them in `dtype` (bfloat16: the top half of each f32, truncated). */
function encode(a: Float32Array, dtype: FileDType): Uint8Array {
  if (dtype === 'float32') return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  if (dtype === 'float64') return new Uint8Array(Float64Array.from(a).buffer);
  if (dtype === 'float16') return new Uint8Array(Uint16Array.from(a, floatToHalf).buffer);
  return new Uint8Array(Uint16Array.from(new Uint32Array(a.buffer.slice(0)), (x) => x >>> 16).buffer);
}

/** What the file holds, decoded as the worker decodes it. */
function decoded(a: Float32Array, dtype: FileDType): Float32Array {
  if (dtype === 'float16') return Float32Array.from(a, (x) => halfToFloat(floatToHalf(x)));
  if (dtype === 'bfloat16') return new Float32Array(Uint32Array.from(new Uint32Array(a.buffer.slice(0)), (x) => (x >>> 16) << 16).buffer);
  return a;
}

let files = 0;
/** A file holding `junk` bytes, then the matrix; where it lies in it. */
function stored(a: Float32Array, rows: number, cols: number, dtype: FileDType = 'float32', transposed = false, junk = 24): MatrixInFile {
  const path = join(dir, `m${files++}.bin`);
  const bytes = encode(a, dtype);
  writeFileSync(path, Buffer.concat([Buffer.alloc(junk, 7), bytes]));
  return { path, offset: junk, dtype, length: rows * cols, rows, cols, transposed, model: '/models/m.safetensors', tensor: 'w', layer: 'dense' };
}

/** An empty scratch file, as a job's. */
function scratch(): string {
  const path = join(dir, `s${files++}.tmp`);
  writeFileSync(path, '');
  return path;
}

/** The factors the worker wrote at their place, as a TruncatedSvd-shaped pair (A = U√Σ, B = √ΣVᵀ). */
function writtenFactors(path: string, rows: number, cols: number, k: number, at: { a: number; b: number }): { a: Float32Array; b: Float32Array } {
  const bytes = readFileSync(path);
  const view = (offset: number, n: number): Float32Array => new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * n));
  return { a: view(at.a, rows * k), b: view(at.b, k * cols) };
}

/** ‖W − A·B‖_F / ‖W‖_F. */
function productError(w: Float32Array, rows: number, cols: number, a: Float32Array, b: Float32Array, k: number): number {
  return reconstructionError(w, rows, cols, { u: a, s: new Float64Array(k).fill(1), vt: b });
}

const tall = { data: lowRankMatrix(300, 120, geometric(120, 0.95), 21), rows: 300, cols: 120 };
const wide = { data: lowRankMatrix(90, 260, geometric(90, 0.9), 22), rows: 90, cols: 260 };

for (const dtype of ['float32', 'float16', 'bfloat16', 'float64'] as const) {
  test(`spectrum of a ${dtype} matrix read from its file equals the embedded engine's of the same values`, async () => {
    const m = tall;
    const ref = await embedded.spectrum({ data: decoded(m.data, dtype), rows: m.rows, cols: m.cols });
    const before = torch.bytesSent;
    const ours = await torch.files.spectrum(stored(m.data, m.rows, m.cols, dtype));
    assert.equal(torch.bytesSent, before, 'no matrix bytes went down the pipe');
    assert.equal(ours.length, 120);
    const tol = dtype === 'float16' ? 2e-3 : 1e-4;
    for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(ours[i] - ref[i]) <= tol * ref[0], `σ[${i}] ${ours[i]} vs ${ref[i]}`);
  });
}

for (const [name, m] of Object.entries({ tall, wide })) {
  for (const transposed of [false, true]) {
    test(`factors written to a file: ${name} ${transposed ? '(stored transposed)' : ''} — the layer's matrix, errors as the embedded engine's`, async () => {
      const k = 17;
      // The layer's matrix W is rows×cols; a transposed layer stores Wᵀ.
      const file = transposed ? stored(transpose(m.data, m.rows, m.cols), m.cols, m.rows, 'float32', true) : stored(m.data, m.rows, m.cols);
      const out = scratch();
      const into = { path: out, a: 8, b: 8 + 4 * m.rows * k };
      const { s, energy } = await torch.files.factors(file, k, into);
      const { a, b } = writtenFactors(out, m.rows, m.cols, k, into);
      const ref = await embedded.truncatedSvd(m, k);
      const ours = productError(m.data, m.rows, m.cols, a, b, k);
      const theirs = reconstructionError(m.data, m.rows, m.cols, ref);
      assert.ok(Math.abs(ours - theirs) <= 1e-3 * theirs, `written factors ${ours} vs embedded ${theirs}`);
      let total = 0;
      for (const x of m.data) total += x * x;
      assert.ok(Math.abs(energy - total) <= 1e-9 * total, `energy ${energy} vs ${total}`);
      for (let i = 0; i < k; i++) assert.ok(Math.abs(s[i] - ref.s[i]) <= 1e-4 * ref.s[0]);
    });
  }
}

test('a spectrum keeps its eigenvectors for the same matrix\'s factors: one decomposition per layer', async () => {
  const m = tall, k = 40;
  const place = { path: scratch(), offset: 64 };
  const file = stored(m.data, m.rows, m.cols);
  const s = await torch.files.spectrum(file, { keep: place });
  const kept = readFileSync(place.path);
  assert.ok(kept.byteLength <= place.offset + reductionBytes(120), 'the kept vectors fit the place a job reserves');
  assert.deepEqual(Array.from(new Float64Array(kept.buffer.slice(kept.byteOffset + place.offset, kept.byteOffset + place.offset + 40))), [0x54564331, 300, 120, 120, 120]);
  const into = { path: scratch(), a: 0, b: 4 * m.rows * k };
  const reused = await torch.files.factors(file, k, into, { reuse: place });
  const { a, b } = writtenFactors(into.path, m.rows, m.cols, k, into);
  const ref = await embedded.truncatedSvd(m, k);
  const err = productError(m.data, m.rows, m.cols, a, b, k), refErr = reconstructionError(m.data, m.rows, m.cols, ref);
  assert.ok(Math.abs(err - refErr) <= 1e-3 * refErr, `from kept vectors ${err} vs embedded ${refErr}`);
  for (let i = 0; i < k; i++) assert.equal(reused.s[i], s[i], 'the factors\' σ are the kept spectrum\'s');

  // The place is what the factors use: another matrix of the same shape, given this place, is
  // projected on the first one's vectors (a job never does that; it shows the vectors are reused).
  const other = lowRankMatrix(300, 120, geometric(120, 0.95), 99);
  const into2 = { path: scratch(), a: 0, b: 4 * m.rows * k };
  await torch.files.factors(stored(other, 300, 120), k, into2, { reuse: place });
  const projected = writtenFactors(into2.path, 300, 120, k, into2);
  const fresh = await embedded.truncatedSvd({ data: other, rows: 300, cols: 120 }, k);
  assert.ok(productError(other, 300, 120, projected.a, projected.b, k) > 1.5 * reconstructionError(other, 300, 120, fresh));
  // A place kept for another shape is not used: the factors are computed afresh.
  const small = { data: wide.data.subarray(0, 120 * 90), rows: 120, cols: 90 };
  const into3 = { path: scratch(), a: 0, b: 4 * 120 * 5 };
  await torch.files.factors(stored(small.data, 120, 90), 5, into3, { reuse: place });
  const afresh = writtenFactors(into3.path, 120, 90, 5, into3);
  const smallRef = reconstructionError(small.data, 120, 90, await embedded.truncatedSvd(small, 5));
  assert.ok(Math.abs(productError(small.data, 120, 90, afresh.a, afresh.b, 5) - smallRef) <= 1e-3 * smallRef);
});

test('REDUCIBLE_TORCH_KEEP=0 (bench switch): a spectrum leaves its keep place empty, and the factors still match the embedded engine\'s', async () => {
  const plain = await TorchEngine.start({ python: PYTHON, env: { REDUCIBLE_TORCH_KEEP: '0' } });
  try {
    const m = tall;
    const file = stored(m.data, m.rows, m.cols);
    const place = { path: scratch(), offset: 64 };
    const s = await plain.files.spectrum(file, { keep: place });
    assert.equal(readFileSync(place.path).byteLength, 0, 'nothing written at the keep place');
    const refS = await embedded.spectrum(m);
    for (let i = 0; i < refS.length; i++) assert.ok(Math.abs(s[i] - refS[i]) <= 1e-4 * refS[0], `σ[${i}] ${s[i]} vs ${refS[i]}`);
    // k = 17 takes the randomized SVD, k = 40 the exact one (the sample would be over a quarter of the side).
    for (const k of [17, 40]) {
      const into = { path: scratch(), a: 0, b: 4 * m.rows * k };
      const { s: fs } = await plain.files.factors(file, k, into, { reuse: place });
      const { a, b } = writtenFactors(into.path, m.rows, m.cols, k, into);
      const ref = await embedded.truncatedSvd(m, k);
      const err = productError(m.data, m.rows, m.cols, a, b, k), refErr = reconstructionError(m.data, m.rows, m.cols, ref);
      assert.ok(Math.abs(err - refErr) <= 1e-3 * refErr, `rank ${k}: ${err} vs embedded ${refErr}`);
      for (let i = 0; i < k; i++) assert.ok(Math.abs(fs[i] - ref.s[i]) <= 1e-4 * ref.s[0]);
    }
    assert.equal(readFileSync(place.path).byteLength, 0);
  } finally {
    await plain.close();
  }
});

test('a non-finite weight or bias read by the worker is refused naming the model, tensor and layer, as Node\'s reader does', async () => {
  const bad = Float32Array.from(tall.data);
  bad[1234] = NaN;
  await assert.rejects(torch.files.spectrum(stored(bad, 300, 120)),
    (e: Error) => e instanceof InputError && e.message === '/models/m.safetensors: tensor w (layer dense) holds NaN at element 1234: weights must be finite');
  const biasFile = join(dir, 'bias.bin');
  writeFileSync(biasFile, Buffer.from(Float32Array.of(1, 2, -Infinity).buffer));
  const withBias = { ...stored(tall.data, 300, 120), bias: { path: biasFile, offset: 0, dtype: 'float32' as const, length: 3, tensor: 'b' } };
  await assert.rejects(torch.files.factors(withBias, 3, { path: scratch(), a: 0, b: 3600 }),
    (e: Error) => e instanceof InputError && e.message === '/models/m.safetensors: tensor b (layer dense) holds -Infinity at element 2: weights must be finite');
});

test('a file shorter than the matrix it should hold is refused in one line naming the model', async () => {
  const file = stored(tall.data, 300, 120);
  writeFileSync(file.path, readFileSync(file.path).subarray(0, 1000));
  await assert.rejects(torch.files.spectrum(file),
    (e: Error) => e instanceof InputError && e.message === `/models/m.safetensors: truncated or corrupt: ${file.path} needs bytes 24..144024 of 1000`);
  // The worker is still serving.
  assert.equal((await torch.files.spectrum(stored(wide.data, 90, 260))).length, 90);
});

test('two workers (REDUCIBLE_TORCH_WORKERS, as one per GPU): layers are spread over both and each answer is its own', async () => {
  const two = await TorchEngine.start({ python: PYTHON, workers: 2 });
  try {
    assert.match(two.description, /^CPU · torch \d+\.\d+ ×2$/);
    const ms = Array.from({ length: 8 }, (_, i) => ({ data: lowRankMatrix(120 + 10 * i, 80, geometric(80, 0.9), 40 + i), rows: 120 + 10 * i, cols: 80 }));
    const spectra = await Promise.all(ms.map((m) => two.files.spectrum(stored(m.data, m.rows, m.cols))));
    const refs = await Promise.all(ms.map((m) => embedded.spectrum(m)));
    spectra.forEach((s, i) => { for (let j = 0; j < 80; j++) assert.ok(Math.abs(s[j] - refs[i][j]) <= 1e-4 * refs[i][0]); });
    const [first, second] = two.requestsPerWorker;
    assert.equal(first + second, 8);
    assert.ok(first >= 3 && second >= 3, `requests per worker: ${first}, ${second}`);
    assert.equal(new Set(two.workerPids).size, 2);
  } finally {
    await two.close();
  }
});

// Whole jobs: layers the formats store raw are read by the worker and their factors written by
// it; what lands in the output is checked by `evaluate` (reconstructed weights, or the model
// run in its runtime on the same seeded inputs) against the embedded engine's output.
const st = makeFixtures('test/fixtures/make_safetensors.py');
const pt = makeFixtures('test/fixtures/make_pytorch.py');
const ox = makeFixtures('test/fixtures/make_onnx.py');
const models = [
  join(st, 'mlp-float32.safetensors'), join(st, 'mlp-bfloat16.safetensors'), join(pt, 'mlp.pt'),
  join(ox, 'mlp.onnx'), join(ox, 'external.onnx'), 'examples/fashion-mnist/model.json',
];
for (const model of models) {
  test(`compress --engine torch of ${basename(model)}: no layer it stores raw crosses the pipe, and the output matches the embedded engine's`, async () => {
    // PyTorch checkpoints are written as safetensors.
    const out = (engine: string): string => join(dir, `${engine}-${files++}-${basename(model).replace(/\.pt$/, '.safetensors')}`);
    const job = { goal: { kind: 'ratio' as const, ratio: 0.4 }, allowDeepCuts: true };
    const opened = await (await formatOf(model)).read(model);
    const inMemory = opened.layers.filter((l) => !opened.matrixFile(l)).map((l) => l.name);
    await opened.close();
    const sent = torch.bytesSent;
    const viaTorch = await compressFile(model, { ...job, engine: torch, out: out('torch') });
    if (inMemory.length === 0) assert.equal(torch.bytesSent, sent, 'matrix bytes sent down the pipe');
    else assert.ok(torch.bytesSent > sent, `${inMemory.join(', ')} are not stored raw, so they are sent`);
    const viaEmbedded = await compressFile(model, { ...job, engine: embedded, out: out('embedded') });
    assert.deepEqual(viaTorch.layers.map((l) => [l.name, l.rank]), viaEmbedded.layers.map((l) => [l.name, l.rank]));
    const [a, b] = await Promise.all([evaluate(model, viaTorch.output, { seed: 3 }), evaluate(model, viaEmbedded.output, { seed: 3 })]);
    if (a.layers) {
      assert.equal(a.layers.length, viaTorch.layers.length);
      a.layers.forEach((l, i) => {
        // What the factors written in f32 reconstruct is what the report says; bf16 storage rounds them, as it does the embedded engine's.
        const reported = viaTorch.layers.find((x) => x.name === l.name)!;
        if (reported.dtype === 'f32') assert.ok(Math.abs(l.relativeError - reported.relativeError) <= 1e-3 * reported.relativeError, `${l.name}: written ${l.relativeError} vs reported ${reported.relativeError}`);
        assert.ok(Math.abs(l.relativeError - b.layers![i].relativeError) <= 1e-3 * b.layers![i].relativeError, `${l.name}: ${l.relativeError} vs embedded ${b.layers![i].relativeError}`);
      });
    } else {
      assert.ok(Math.abs(a.relativeOutputError! - b.relativeOutputError!) <= 1e-3 * b.relativeOutputError!, `output error ${a.relativeOutputError} vs ${b.relativeOutputError}`);
    }
  });
}

test('a full disk: kept vectors that cannot be written only cost their reuse; factors that cannot be written fail in one line naming the file', async () => {
  const m = tall, k = 9;
  const file = stored(m.data, m.rows, m.cols);
  // /dev/full answers every write with ENOSPC, as a full file system does.
  const s = await torch.files.spectrum(file, { keep: { path: '/dev/full', offset: 0 } });
  const ref = await embedded.spectrum(m);
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(s[i] - ref[i]) <= 1e-4 * ref[0]);
  const into = { path: scratch(), a: 0, b: 4 * m.rows * k };
  await torch.files.factors(file, k, into, { reuse: { path: '/dev/full', offset: 0 } });
  const { a, b } = writtenFactors(into.path, m.rows, m.cols, k, into);
  const refErr = reconstructionError(m.data, m.rows, m.cols, await embedded.truncatedSvd(m, k));
  assert.ok(Math.abs(productError(m.data, m.rows, m.cols, a, b, k) - refErr) <= 1e-3 * refErr);
  await assert.rejects(torch.files.factors(file, k, { path: '/dev/full', a: 0, b: 4 * m.rows * k }),
    (e: Error) => e instanceof InputError && e.message === '/dev/full: cannot write (ENOSPC): no space left on device');
});
