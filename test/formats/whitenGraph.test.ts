// Whitened SVD on TF.js graph models: each MatMul / Conv2D node's input statistics are
// collected with stock tfjs (GraphModel.execute) and must equal XᵀX/N computed here from the
// graph's own weights (for a convolution, over im2col patches written out by hand); end to end,
// the whitened output at fixed ranks must lose less on held-out inputs than plain SVD at the
// same ranks, load in stock tfjs and leave the original untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tfjsGraphInputMoments } from '../../core/formats/tfjs/graphMoments.js';
import { runTfjsGraph, runTfjsGraphOutputs } from '../../core/formats/tfjs/graphRuntime.js';
import type { CompressReport } from '../../core/compress/report.js';
import type { InputMoments } from '../../core/compress/moments.js';
import { openModel } from '../../core/formats/open.js';
import type { TfjsModel } from '../../core/formats/tfjs/read.js';
import { encodeNpy } from '../../core/io/npy.js';
import { cli, tempDir } from '../helpers/cli.js';
import { assertMomentsClose } from '../helpers/moments.js';
import { randomMatrix } from '../helpers/random.js';
import { attr, CNN_RANKS, GraphBuilder, graphCnn, graphMlp, graphTransposed } from '../fixtures/tfjsGraphModels.js';

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * n inputs of `width` features near one fixed 6-dimensional subspace (faint noise off it):
 * strongly anisotropic, as real activations are; `seed` draws the samples.
 */
function anisotropic(n: number, width: number, seed: number): Float32Array {
  const z = randomMatrix(n, 6, seed), p = randomMatrix(6, width, 7), noise = randomMatrix(n, width, seed + 1);
  const x = new Float32Array(n * width);
  for (let i = 0; i < n; i++) for (let j = 0; j < width; j++) {
    let s = 0.01 * noise[i * width + j];
    for (let k = 0; k < 6; k++) s += z[i * 6 + k] * p[k * width + j];
    x[i * width + j] = s;
  }
  return x;
}

/** XᵀX / rows of a row-major rows×dim matrix, in f64. */
function gram(x: ArrayLike<number>, rows: number, dim: number): Float64Array {
  const c = new Float64Array(dim * dim);
  for (let r = 0; r < rows; r++) for (let i = 0; i < dim; i++) {
    const xi = x[r * dim + i];
    if (xi !== 0) for (let j = 0; j < dim; j++) c[i * dim + j] += xi * x[r * dim + j];
  }
  return c.map((v) => v / rows);
}

/** NHWC input → one row per output position of a k×k convolution, its patch in (dy, dx, c) order, zeros outside. */
function im2col(x: Float32Array, [n, h, w, c]: number[], g: { kernel: number; stride: number[]; dilation: number; top: number; left: number; out: number[] }): number[] {
  const rows: number[] = [];
  for (let s = 0; s < n; s++) for (let oy = 0; oy < g.out[0]; oy++) for (let ox = 0; ox < g.out[1]; ox++) {
    for (let dy = 0; dy < g.kernel; dy++) for (let dx = 0; dx < g.kernel; dx++) for (let ch = 0; ch < c; ch++) {
      const [iy, ix] = [oy * g.stride[0] - g.top + g.dilation * dy, ox * g.stride[1] - g.left + g.dilation * dx];
      rows.push(iy < 0 || iy >= h || ix < 0 || ix >= w ? 0 : x[((s * h + iy) * w + ix) * c + ch]);
    }
  }
  return rows;
}

test('graph MLP: MatMul input statistics equal XᵀX/N of the model input and of the first hidden layer, summed over batches', async () => {
  const dir = tempDir();
  const model = await openModel(graphMlp(dir, [24, 32, 10])) as TfjsModel;
  try {
    const n = 300, x = anisotropic(n, 24, 3);
    const got = await tfjsGraphInputMoments(model, model.layers, { data: x, shape: [n, 24] }, {}, 64);
    assertMomentsClose(got.get('dense_1/MatMul'), gram(x, n, 24), 'dense_1 (model input)', n);
    // relu(x·W1 + b1) from the stored weights.
    const [w, b] = await Promise.all(['dense_1/kernel', 'dense_1/bias'].map((t) => model.readTensor(t)));
    const h = new Float64Array(n * 32);
    for (let i = 0; i < n; i++) for (let j = 0; j < 32; j++) {
      let s = b[j];
      for (let k = 0; k < 24; k++) s += x[i * 24 + k] * w[k * 32 + j];
      h[i * 32 + j] = Math.max(0, s);
    }
    assertMomentsClose(got.get('dense_2/MatMul'), gram(h, n, 32), 'dense_2 (hidden layer)', n);
  } finally {
    await model.close();
  }
});

test('graph CNN: a dilated SAME convolution on the input is whitened over its patches; a strided VALID one and transposed MatMuls are covered', async () => {
  const dir = tempDir();
  const model = await openModel(graphCnn(dir)) as TfjsModel;
  try {
    const n = 40, x = anisotropic(n, 8 * 8 * 3, 5);
    const got = await tfjsGraphInputMoments(model, model.layers, { data: x, shape: [n, 8, 8, 3] }, {}, 16);
    // c1: 3×3 kernel, dilation 2, SAME (pad 2 each side at stride 1).
    const patches = im2col(x, [n, 8, 8, 3], { kernel: 3, stride: [1, 1], dilation: 2, top: 2, left: 2, out: [8, 8] });
    assertMomentsClose(got.get('c1/Conv2D'), gram(patches, n * 64, 27), 'c1 patches', n * 64);
    // c2: 3×3 VALID at stride 2 on 8×8 → 3×3 positions of 3·3·16 values; d1 reads 216 features, d2 64.
    assert.deepEqual([...got].map(([name, m]) => [name, m.dim, m.samples]), [
      ['c1/Conv2D', 27, n * 64], ['c2/Conv2D', 144, n * 9], ['d1/MatMul', 216, n], ['d2/MatMul', 64, n],
    ]);
  } finally {
    await model.close();
  }
});

test('graph Conv2D with EXPLICIT padding: patches cut with the listed (before, after) pads', async () => {
  const g = new GraphBuilder();
  const x = g.placeholder('x', [-1, 6, 6, 2]);
  g.op('c/Conv2D', 'Conv2D', [x, g.const('c/kernel', [3, 3, 2, 4], randomMatrix(18, 4, 2))], {
    strides: attr.ints([1, 2, 1, 1]), padding: attr.str('EXPLICIT'), explicit_paddings: attr.ints([0, 0, 1, 2, 2, 0, 0, 0]),
    dilations: attr.ints([1, 1, 1, 1]), data_format: attr.str('NHWC'),
  });
  g.op('Identity', 'Identity', ['c/Conv2D']);
  const model = await openModel(g.save(tempDir(), 'Identity')) as TfjsModel;
  try {
    const n = 10, data = anisotropic(n, 72, 4);
    const got = await tfjsGraphInputMoments(model, model.layers, { data, shape: [n, 6, 6, 2] });
    // Height 6 + 1 + 2 at stride 2 → 4 rows; width 6 + 2 + 0 at stride 1 → 6 columns.
    const patches = im2col(data, [n, 6, 6, 2], { kernel: 3, stride: [2, 1], dilation: 1, top: 1, left: 2, out: [4, 6] });
    assertMomentsClose(got.get('c/Conv2D'), gram(patches, n * 24, 18), 'explicit-padding patches', n * 24);
  } finally {
    await model.close();
  }
});

test('graph MatMul with transpose_a: its input is read feature-major (columns are the samples)', async () => {
  const model = await openModel(graphTransposed(tempDir())) as TfjsModel;
  try {
    // x [16, 512] holds 512 samples of 16 features, one per column.
    const x = anisotropic(512, 16, 9);
    const xt = new Float32Array(16 * 512);
    for (let i = 0; i < 512; i++) for (let j = 0; j < 16; j++) xt[j * 512 + i] = x[i * 16 + j];
    const got = await tfjsGraphInputMoments(model, model.layers, { data: xt, shape: [16, 512] });
    assertMomentsClose(got.get('t/MatMul'), gram(x, 512, 16), 't (transpose_a)', 512);
  } finally {
    await model.close();
  }
});

test('graph moments: batches are sized by the bytes they fetch (the first input alone, then what the budget holds); the statistics do not change', async () => {
  // Basic Pitch (a TF.js graph) cut 170 MB of patches per 2 s window: 300 windows fed at once passed 3 GB.
  const model = await openModel(graphCnn(tempDir())) as TfjsModel;
  try {
    const n = 40, x = { data: anisotropic(n, 8 * 8 * 3, 5), shape: [n, 8, 8, 3] };
    const batches = async (bytes: number): Promise<[number[], Map<string, InputMoments>]> => {
      const ends: number[] = [];
      const got = await tfjsGraphInputMoments(model, model.layers, x, { progress: { report: (f) => ends.push(Math.round(f * n)) } }, 500, bytes);
      return [ends, got];
    };
    const [roomy, all] = await batches(2 ** 30);
    assert.deepEqual(roomy, [1, n], 'a large budget: the first input, then the other 39 at once');
    const [tight, piecewise] = await batches(1);
    assert.deepEqual(tight, Array.from({ length: n }, (_, i) => i + 1), 'a budget below one input: one input a batch');
    // Per input, in f32: c1's 64 patches of 27 values (its input is fed, not fetched), c2's 8×8×16 input and its
    // 9 patches of 144, d1's 216 and d2's 64 inputs. A budget of 3 inputs' worth feeds 3 at a time after the first.
    const perInput = (64 * 27 + 8 * 8 * 16 + 9 * 144 + 216 + 64) * 4;
    const [ends] = await batches(3 * perInput);
    assert.deepEqual(ends, [1, ...Array.from({ length: 13 }, (_, i) => 4 + 3 * i)]);
    for (const [name, m] of all) assertMomentsClose(piecewise.get(name), m.c, `${name}: one input a batch vs all at once`, m.samples);
  } finally {
    await model.close();
  }
});

test('graph with two outputs: whitened and plain candidates are judged on every output, not only the first (which evaluate reads)', async () => {
  // Basic Pitch's note and onset heads follow its contour output: judged on the first output alone,
  // layers feeding only the later ones looked free and whitening cut them to rank 1.
  const dir = tempDir();
  const g = new GraphBuilder();
  const x = g.placeholder('x', [-1, 24]);
  g.op('first/MatMul', 'MatMul', [x, g.const('first/kernel', [24, 3], randomMatrix(24, 3, 31))]);
  const h = g.op('second/MatMul', 'MatMul', [x, g.const('second/kernel', [24, 32], randomMatrix(24, 32, 32))]);
  g.op('Identity', 'Identity', ['first/MatMul']);
  g.op('Identity_1', 'Identity', [h]);
  const model = g.save(join(dir, 'model'), ['Identity', 'Identity_1']);
  const input = { data: anisotropic(5, 24, 33), shape: [5, 24] };
  const [first, all] = [await runTfjsGraph(model, input), await runTfjsGraphOutputs(model, input)];
  assert.deepEqual([first.shape, ...all.map((o) => o.shape)], [[5, 3], [5, 3], [5, 32]]);
  assert.deepEqual(all[0].data, first.data);
  // Only second/MatMul (24×32) pays to factorise; it feeds only the second output.
  const calib = join(dir, 'calib.npy');
  writeFileSync(calib, encodeNpy({ dtype: 'float32', shape: [300, 24], data: anisotropic(300, 24, 34) }));
  const r = cli('compress', model, '--ratio', '0.6', '--method', 'whitened', '--calibration', calib, '-o', join(dir, 'out.json'), '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as CompressReport;
  assert.deepEqual(report.layers.map((l) => l.name), ['second/MatMul']);
  const choice = report.methodChoice!;
  assert.ok(choice.svd.relativeOutputError > 1e-3 && choice.whitened.relativeOutputError > 1e-4, JSON.stringify(choice));
});

for (const [name, make, width, shape, ranks] of [
  ['mlp', (d: string) => graphMlp(d, [48, 64, 32, 10]), 48, [48], { 'dense_1/MatMul': 4, 'dense_2/MatMul': 5, 'dense_3/MatMul': 3 }],
  ['cnn', (d: string) => graphCnn(d), 192, [8, 8, 3], { 'c1/Conv2D': CNN_RANKS['c1/Conv2D'] - 2, 'c2/Conv2D': CNN_RANKS['c2/Conv2D'] - 3, 'd1/MatMul': 4, 'd2/MatMul': 2 }],
] as const) {
  test(`graph ${name}: whitened factors at the plan's ranks lose less on held-out inputs than plain SVD; output loads in tfjs; original untouched`, () => {
    const dir = tempDir();
    const model = make(dir);
    const npy = (file: string, n: number, seed: number): string => {
      writeFileSync(join(dir, file), encodeNpy({ dtype: 'float32', shape: [n, ...shape], data: anisotropic(n, width, seed) }));
      return join(dir, file);
    };
    const calib = npy('calib.npy', 400, 11), heldout = npy('heldout.npy', 200, 13);
    writeFileSync(join(dir, 'plan.json'), JSON.stringify({ layers: ranks }));
    const before = sha(model);
    const error: Record<string, number> = {};
    for (const method of ['svd', 'whitened']) {
      const out = join(dir, `${method}.json`);
      const r = cli('compress', model, '--ranks', join(dir, 'plan.json'), '--method', method, '--calibration', calib, '-o', out, '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(Object.fromEntries((JSON.parse(r.stdout) as { layers: { name: string; rank: number }[] }).layers.map((l) => [l.name, l.rank])), ranks);
      const e = cli('evaluate', model, out, '--inputs', heldout, '--json');
      assert.equal(e.code, 0, e.stderr);
      error[method] = JSON.parse(e.stdout).relativeOutputError;
    }
    assert.ok(error.whitened < 0.8 * error.svd, `held-out relative output error: whitened ${error.whitened} vs plain ${error.svd}`);
    assert.equal(sha(model), before);
  });
}

test('graph CNN at --ratio: --method whitened (sensitivity by default) judges whitened against plain on written variants in tfjs and reports what it wrote; the output loads and nothing is left beside it', () => {
  const dir = tempDir();
  const model = graphCnn(join(dir, 'model'));
  const calib = join(dir, 'calib.npy');
  writeFileSync(calib, encodeNpy({ dtype: 'float32', shape: [300, 8, 8, 3], data: anisotropic(300, 192, 21) }));
  const out = join(dir, 'out', 'small.json');
  mkdirSync(join(dir, 'out'));
  const r = cli('compress', model, '--ratio', '0.3', '--method', 'whitened', '--calibration', calib, '-o', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as CompressReport;
  assert.ok(report.methodChoice && report.methodChoice.whitened.samples === 30, JSON.stringify(report.methodChoice));
  // The report names the allocation of the factors written: plain SVD's is the spectrum's.
  assert.equal(report.allocation, report.methodChoice.kept === 'whitened' ? 'sensitivity' : 'spectrum', JSON.stringify(report.methodChoice));
  assert.ok(report.compressedParams <= 0.3 * report.originalParams + 1);
  assert.equal(cli('evaluate', model, out, '--inputs', calib, '--json').code, 0);
  assert.deepEqual(readdirSync(join(dir, 'out')).sort(), ['small.json', 'small.json.report.json', 'small.weights.bin']);
});
