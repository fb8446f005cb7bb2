// Whitened SVD beyond TF.js layers models: ONNX (inputs collected by onnxruntime) and Keras
// (through TF.js); both are fine-tuned too. Statistics are checked against numpy;
// end to end, the whitened output at the plan's ranks must lose less on held-out inputs from
// the calibration distribution than plain SVD at the same ranks (and the fine-tuned one less
// still), load in the stock runtime, and leave the original untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calibrationMoments } from '../../core/compress/strategy.js';
import { runnerFor } from '../../core/formats/registry.js';
import { onnxInputMoments } from '../../core/formats/onnx/moments.js';
import type { CompressReport } from '../../core/compress/report.js';
import { inputsFromFile } from '../../core/eval/evaluate.js';
import { readOnnx } from '../../core/formats/onnx/read.js';
import { openModel } from '../../core/formats/open.js';
import type { StoredModel } from '../../core/formats/storedModel.js';
import { encodeNpy } from '../../core/io/npy.js';
import { cli, makeFixtures, tempDir } from '../helpers/cli.js';
import { python } from '../helpers/python.js';
import { assertMomentsClose } from '../helpers/moments.js';
import { randomMatrix } from '../helpers/random.js';
import { checkModel } from './onnxKit.js';

const data = makeFixtures('test/fixtures/make_calibration.py');
const keras = makeFixtures('test/fixtures/make_keras.py');
const at = (name: string): string => join(data, name);
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** numpy's XᵀX/N (f64) of each layer's input, given as an expression of `x` (the calibration array) and `w` (the initializers). */
function numpyMoments(model: string, calib: string, exprs: Record<string, string>): Map<string, Float64Array> {
  const out = python(
    'import sys,json,numpy as np,onnx;from onnx import numpy_helper as nh\n'
    + 'w={t.name:nh.to_array(t).astype(np.float64) for t in onnx.load(sys.argv[1]).graph.initializer};x=np.load(sys.argv[2]).astype(np.float64)\n'
    + 'r=[]\nfor e in sys.argv[3:]:\n a=eval(e);a=a.reshape(-1,a.shape[-1]);r.append((a.T@a/a.shape[0]).ravel().tolist())\nprint(json.dumps(r))',
    undefined, [model, calib, ...Object.values(exprs)],
  );
  const cs = JSON.parse(out.toString()) as number[][];
  return new Map(Object.keys(exprs).map((name, i) => [name, Float64Array.from(cs[i])]));
}

test('onnx: calibration moments equal numpy\'s, for a transA Gemm input, a rank-3 MatMul input and an intermediate value', async () => {
  for (const [file, calib, exprs] of [
    ['transposed.onnx', 'calib.npy', { fc1: 'x' }],
    ['seq.onnx', 'calib-seq.npy', { proj: 'x', out: 'np.maximum(x@w["S1"],0)' }],
  ] as const) {
    const model = await readOnnx(at(file));
    try {
      // A small batch, so the statistics are really summed over several runs.
      const got = await onnxInputMoments(model, await inputsFromFile(at(calib)), {}, 64);
      const want = numpyMoments(at(file), at(calib), exprs);
      for (const [name, c] of want) assertMomentsClose(got.get(name), c, `${file} ${name}`);
      assert.equal(got.get(Object.keys(exprs)[0])!.samples, file === 'seq.onnx' ? 400 * 6 : 2000);
    } finally {
      await model.close();
    }
  }
});

test('onnx: whitening statistics use the first 5 000 calibration inputs, as for every collector', async () => {
  const model = await readOnnx(at('transposed.onnx'));
  try {
    const width = (await inputsFromFile(at('calib.npy'))).shape[1];
    const data = randomMatrix(6000, width, 4);
    for (let i = 5000 * width; i < data.length; i++) data[i] *= 1000; // inputs past the cap would dominate C
    const all = { data, shape: [6000, width] };
    const first = { data: data.subarray(0, 5000 * width), shape: [5000, width] };
    const got = (await calibrationMoments(runnerFor(model, { out: at('unused.onnx') }), all, {})).get('fc1')!;
    assert.equal(got.samples, 5000);
    assertMomentsClose(got, (await onnxInputMoments(model, first, {})).get('fc1')!.c, 'capped fc1');
  } finally {
    await model.close();
  }
});

interface Case { model: string; calib: string; heldout: string; ranks: Record<string, number>; ext: string }

const CASES: Case[] = [
  { model: at('transposed.onnx'), calib: at('calib.npy'), heldout: at('heldout.npy'), ranks: { fc1: 16, fc2: 12, fc3: 5 }, ext: 'onnx' },
  { model: at('seq.onnx'), calib: at('calib-seq.npy'), heldout: at('heldout-seq.npy'), ranks: { proj: 10, out: 6 }, ext: 'onnx' },
  { model: join(keras, 'mlp.h5'), calib: at('calib.npy'), heldout: at('heldout.npy'), ranks: { dense: 12, dense_1: 10, dense_2: 4 }, ext: 'h5' },
  { model: join(keras, 'mlp.keras'), calib: at('calib.npy'), heldout: at('heldout.npy'), ranks: { dense: 12, dense_1: 10, dense_2: 4 }, ext: 'keras' },
];

/** What each method adds to `compress`; fine-tuning trains in TF.js (ONNX graphs run there op by op, onnx/inTfjs.ts). */
const METHODS: Record<string, string[]> = { svd: ['--method', 'svd'], whitened: ['--method', 'whitened'], finetuned: ['--method', 'whitened', '--finetune', '300'] };

for (const c of CASES) {
  const methods = ['svd', 'whitened', 'finetuned'];
  test(`${c.model.split('/').pop()}: held-out output error at equal ranks falls ${methods.join(' → ')}; output loads; original untouched`, () => {
    const dir = tempDir();
    const plan = join(dir, 'plan.json');
    writeFileSync(plan, JSON.stringify({ layers: c.ranks }));
    const before = sha(c.model);
    const error: Record<string, number> = {};
    for (const method of methods) {
      const out = join(dir, `${method}.${c.ext}`);
      const r = cli('compress', c.model, '--ranks', plan, ...METHODS[method], '--calibration', c.calib, '-o', out, '--json');
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as { method: string; layers: { name: string; rank: number }[]; finetune?: { discarded?: object } };
      assert.equal(report.method, METHODS[method][1]);
      if (method === 'finetuned') assert.ok(report.finetune && !report.finetune.discarded, JSON.stringify(report.finetune));
      assert.deepEqual(Object.fromEntries(report.layers.map((l) => [l.name, l.rank])), c.ranks);
      if (c.ext === 'onnx') checkModel(out);
      // evaluate runs both models in their stock runtime (onnxruntime-node, or tfjs for Keras).
      const e = cli('evaluate', c.model, out, '--inputs', c.heldout, '--json');
      assert.equal(e.code, 0, e.stderr);
      error[method] = JSON.parse(e.stdout).relativeOutputError;
    }
    assert.ok(error.whitened < 0.8 * error.svd, `held-out relative output error: whitened ${error.whitened} vs plain ${error.svd}`);
    if (error.finetuned !== undefined) assert.ok(error.finetuned < error.whitened, `held-out relative output error: fine-tuned ${error.finetuned} vs whitened ${error.whitened}`);
    assert.equal(sha(c.model), before);
    assert.deepEqual(readdirSync(dir).sort(), ['plan.json', ...methods.flatMap((m) => [`${m}.${c.ext}`, `${m}.${c.ext}.report.json`])].sort());
  });
}

test('the compress summary says which factors the guard kept and what fine-tuning did, both on held-out inputs', () => {
  const c = CASES[1];
  const plan = join(tempDir(), 'plan.json');
  writeFileSync(plan, JSON.stringify({ layers: c.ranks }));
  const r = cli('compress', c.model, '--ranks', plan, '--method', 'whitened', '--calibration', c.calib, '--finetune', '50', '-o', join(tempDir(), 'out.onnx'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^kept (whitened|plain) SVD factors on \d+ held-out inputs \(whitened: [\d.]+ % top-1 agreement, output error [\d.]+; plain: [\d.]+ % top-1 agreement, output error [\d.]+\)$/m);
  const held = /^kept .* factors on (\d+) held-out inputs/m.exec(r.stdout)![1];
  assert.match(r.stdout, new RegExp(`^fine-tuning in PyTorch \\(CPU · torch [^)]+\\), 50 steps at temperature [12], on ${held} held-out inputs: [\\d.]+ % top-1 agreement, output error [\\d.]+ → .+$`, 'm'));
});

test('a Keras file at --ratio gets what TF.js layers models get: sensitivity allocation, its refinement and the whitened/plain guard', () => {
  for (const file of ['mlp.h5', 'mlp.keras']) {
    const out = join(tempDir(), `whitened-${file}`);
    const r = cli('compress', join(keras, file), '--ratio', '0.5', '--method', 'whitened', '--calibration', at('calib.npy'), '-o', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as CompressReport;
    assert.ok(report.methodChoice, `${file}: no whitened/plain choice`);
    assert.equal(report.allocation, report.methodChoice.kept === 'whitened' ? 'sensitivity' : 'spectrum');
    if (report.methodChoice.kept === 'whitened') {
      assert.ok(report.refinement, `${file}: no refinement`);
      assert.deepEqual(Object.fromEntries(report.layers.map((l) => [l.name, l.rank])), report.refinement.ranks);
    }
    assert.ok(report.compressedParams <= 0.5 * report.originalParams + 1);
    const e = cli('evaluate', join(keras, file), out, '--inputs', at('heldout.npy'), '--json');
    assert.equal(e.code, 0, e.stderr);
  }
});

test('Keras fine-tuning trains the layers left dense too, written at their own names and precision', async () => {
  for (const file of ['mlp.h5', 'mlp.keras']) {
    const dir = tempDir();
    const plan = join(dir, 'plan.json');
    writeFileSync(plan, JSON.stringify({ layers: { dense: 12 } }));
    const error: Record<string, number> = {};
    for (const [method, extra] of [['whitened', []], ['finetuned', ['--finetune', '300']]] as const) {
      const out = join(dir, `${method}.${file.split('.')[1]}`);
      const r = cli('compress', join(keras, file), '--ranks', plan, '--method', 'whitened', '--calibration', at('calib.npy'), ...extra, '-o', out, '--json');
      assert.equal(r.code, 0, r.stderr);
      const e = cli('evaluate', join(keras, file), out, '--inputs', at('heldout.npy'), '--json');
      assert.equal(e.code, 0, e.stderr);
      error[method] = JSON.parse(e.stdout).relativeOutputError;
      if (method !== 'finetuned') continue;
      const [before, after] = [await openModel(join(keras, file)), await openModel(out)] as StoredModel[];
      try {
        // dense_2 was left dense: the output holds it under its own name, trained, at its stored dtype.
        const [w0, w1] = [before, after].map((m) => {
          const layer = m.layers.find((x) => x.name === 'dense_2');
          assert.ok(layer, `${m.path}: no dense_2`);
          return m.tensor(layer.weight);
        });
        assert.equal(w1.name, w0.name);
        assert.equal(w1.dtype, w0.dtype);
        assert.notDeepEqual(await after.readTensor(w1.name), await before.readTensor(w0.name), `${file}: dense_2 was not trained`);
      } finally {
        await before.close();
        await after.close();
      }
    }
    assert.ok(error.finetuned < error.whitened, `${file}: held-out relative output error: fine-tuned ${error.finetuned} vs whitened ${error.whitened}`);
  }
});

test('Keras: layers branching off one tensor are whitened; a model TF.js cannot load (grouped convolution) is refused in one line naming the file', () => {
  const out = join(tempDir(), 'branches.h5');
  const r = cli('compress', join(keras, 'branches.h5'), '--ratio', '0.5', '--method', 'whitened', '--calibration', at('calib.npy'), '-o', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as CompressReport;
  // dense_b and dense_d both read dense_a's output.
  assert.ok(['dense_b', 'dense_d'].every((n) => report.layers.some((l) => l.name === n)), JSON.stringify(report.layers));
  assert.equal(cli('evaluate', join(keras, 'branches.h5'), out, '--inputs', at('heldout.npy'), '--json').code, 0);
  for (const args of [['compress', '--ratio', '0.5', '--method', 'whitened', '--calibration', at('calib.npy'), '-o', join(tempDir(), 'c.h5')], ['evaluate']]) {
    const model = join(keras, 'convnet.h5');
    const c = cli(args[0], model, ...(args[0] === 'evaluate' ? [model] : args.slice(1)));
    assert.equal(c.code, 2, c.stderr);
    assert.match(c.stderr.trim(), /^reducible: [^\n]*convnet\.h5: TF\.js cannot load layer grouped's weights \([^\n]*\)$/);
  }
});

test('onnx Conv: input statistics are those of its patches as torch\'s unfold cuts them (padded; padded and strided after a ReLU); a grouped Conv keeps plain SVD', async () => {
  const dir = tempDir();
  const file = join(makeFixtures('test/fixtures/make_onnx.py'), 'cnn.onnx');
  const calib = join(dir, 'calib.npy');
  writeFileSync(calib, encodeNpy({ dtype: 'float32', shape: [12, 3, 8, 8], data: randomMatrix(12, 192, 3) }));
  const out = python(
    'import sys,json,numpy as np,onnx,torch;from onnx import numpy_helper as nh;F=torch.nn.functional\n'
    + 'w={t.name:torch.from_numpy(nh.to_array(t).astype(np.float64)) for t in onnx.load(sys.argv[1]).graph.initializer};x=torch.from_numpy(np.load(sys.argv[2]).astype(np.float64))\n'
    + 'h=torch.relu(F.conv2d(x,w["conv1.weight"],w["conv1.bias"],padding=1))\n'
    + 'def c(p):\n p=p.permute(0,2,1).reshape(-1,p.shape[1]);return (p.T@p/p.shape[0]).flatten().tolist()\n'
    + 'print(json.dumps([c(F.unfold(x,3,padding=1)),c(F.unfold(h,3,padding=1,stride=2))]))',
    undefined, [file, calib],
  );
  const [conv1, conv2] = (JSON.parse(out.toString()) as number[][]).map((c) => Float64Array.from(c));
  const model = await readOnnx(file);
  try {
    const got = await onnxInputMoments(model, await inputsFromFile(calib));
    assertMomentsClose(got.get('/conv1/Conv'), conv1, '/conv1/Conv patches');
    assertMomentsClose(got.get('/conv2/Conv'), conv2, '/conv2/Conv patches');
    assert.deepEqual([got.get('/conv1/Conv')!.samples, got.get('/conv2/Conv')!.samples], [12 * 64, 12 * 16]);
    assert.equal(got.has('/grouped/Conv'), false);
  } finally {
    await model.close();
  }
});

test('onnx exported by PyTorch with a fixed batch of 1: the Conv and the Gemm are whitened and lose less on held-out inputs', () => {
  const dir = tempDir();
  const model = join(makeFixtures('test/fixtures/make_onnx.py'), 'cnn.onnx');
  const npy = (name: string, n: number, seed: number): string => {
    const path = join(dir, name);
    writeFileSync(path, encodeNpy({ dtype: 'float32', shape: [n, 3, 8, 8], data: randomMatrix(n, 192, seed) }));
    return path;
  };
  const calib = npy('calib.npy', 64, 1), heldout = npy('heldout.npy', 32, 2);
  const plan = join(dir, 'plan.json');
  writeFileSync(plan, JSON.stringify({ layers: { '/conv2/Conv': 4, '/fc1/Gemm': 10 } }));
  const run = (method: string): { error: number; layers: Record<string, number> } => {
    const out = join(dir, `${method}.onnx`);
    const r = cli('compress', model, '--ranks', plan, '--method', method, '--calibration', calib, '-o', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    checkModel(out);
    const e = cli('evaluate', model, out, '--inputs', heldout, '--json');
    assert.equal(e.code, 0, e.stderr);
    const layers = (JSON.parse(r.stdout) as { layers: { name: string; relativeError: number }[] }).layers;
    return { error: JSON.parse(e.stdout).relativeOutputError, layers: Object.fromEntries(layers.map((l) => [l.name, l.relativeError])) };
  };
  const plain = run('svd'), whitened = run('whitened');
  // Whitening trades weight error for output error, in both layers.
  for (const layer of ['/conv2/Conv', '/fc1/Gemm']) assert.ok(whitened.layers[layer] > plain.layers[layer], `${layer}: weight error ${whitened.layers[layer]} vs plain ${plain.layers[layer]}`);
  assert.ok(whitened.error < plain.error, `held-out relative output error: whitened ${whitened.error} vs plain ${plain.error}`);
});

test('whitening is refused in one line where there is no forward pass to collect inputs from (safetensors without --torch-model)', () => {
  const st = makeFixtures('test/fixtures/make_safetensors.py');
  const model = join(st, 'mlp-float32.safetensors');
  const before = sha(model);
  const r = cli('compress', model, '--ratio', '0.5', '--method', 'whitened', '--calibration', at('calib.npy'), '-o', join(tempDir(), 'x.safetensors'));
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr.trim(), /^reducible: [^\n]*mlp-float32\.safetensors: --method whitened runs the model: name its module with --torch-model file\.py:factory$/);
  assert.equal(sha(model), before);
});
