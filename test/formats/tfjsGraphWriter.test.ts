import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTfjsGraph } from '../../core/formats/tfjs/graphRuntime.js';
import { tfjs } from '../../core/formats/tfjs/runtime.js';
import { openModel } from '../../core/formats/open.js';
import { encodeNpy } from '../../core/io/npy.js';
import { cli, tempDir } from '../helpers/cli.js';
import { randomMatrix } from '../helpers/random.js';
import { attr, CNN_RANKS, GraphBuilder, graphCnn, graphFusedTransposed, graphMlp, graphTransposed } from '../fixtures/tfjsGraphModels.js';

interface Node { name: string; op: string; input?: string[]; attr?: Record<string, { b?: boolean; s?: string; list?: { i?: string[]; s?: string[] } }> }
interface Report { output: string; files: string[]; compressedBytes: number; predictedBytes: number; originalParams: number; compressedParams: number; layers: { name: string; rank: number; dtype: string; relativeError: number }[] }

const hash = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
const json = (p: string): { modelTopology: { node: Node[] }; weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; quantization?: { dtype: string } }[] }[]; signature: unknown } => JSON.parse(readFileSync(p, 'utf8'));
const cnnInput = { data: randomMatrix(32, 8 * 8 * 3, 21), shape: [32, 8, 8, 3] };

function relDiff(a: Float32Array, b: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += a[i] ** 2; }
  return Math.sqrt(num / den);
}

function compress(model: string, ...args: string[]): Report {
  const r = cli('compress', model, '--json', ...args);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  assert.deepEqual(JSON.parse(readFileSync(`${report.output}.report.json`, 'utf8')), report);
  assert.equal(report.compressedBytes, report.files.reduce((s, f) => s + statSync(f).size, 0), 'compressedBytes are the bytes written');
  return report;
}

function withPlan(dir: string, ranks: Record<string, number>): string[] {
  writeFileSync(join(dir, 'plan.json'), JSON.stringify({ layers: ranks }));
  return ['--ranks', join(dir, 'plan.json')];
}

test('tfjs graph: factorising every layer at its exact rank computes the same outputs in tf.loadGraphModel', async () => {
  const dir = tempDir();
  const model = graphCnn(dir);
  const before = hash(model);
  const report = compress(model, ...withPlan(dir, CNN_RANKS));
  assert.equal(report.output, join(dir, 'model.reduced.json'));
  assert.equal(hash(model), before, 'original untouched');
  assert.deepEqual(report.layers.map((l) => [l.name, l.rank]), Object.entries(CNN_RANKS));
  for (const l of report.layers) assert.ok(l.relativeError < 1e-5, `${l.name}: ${l.relativeError}`);
  const [ya, yb] = [await runTfjsGraph(model, cnnInput), await runTfjsGraph(report.output, cnnInput)];
  assert.deepEqual(yb.shape, ya.shape);
  assert.ok(relDiff(ya.data, yb.data) < 1e-4, `outputs differ by ${relDiff(ya.data, yb.data)}`);
});

test('tfjs graph: the rewrite keeps every other node and attribute, the fusion on the second node, the signature', () => {
  const dir = tempDir();
  const model = graphCnn(dir);
  const report = compress(model, ...withPlan(dir, CNN_RANKS));
  const src = json(model), out = json(report.output);
  assert.deepEqual(out.signature, src.signature);
  const outNodes = new Map(out.modelTopology.node.map((n) => [n.name, n]));
  const kernels = new Set(['c1/kernel', 'c2/kernel', 'd1/kernel', 'd2/kernel']);
  for (const n of src.modelTopology.node) {
    if (kernels.has(n.name)) assert.ok(!outNodes.has(n.name), `${n.name} is replaced by its factors`);
    else if (!(n.name in CNN_RANKS)) assert.deepEqual(outNodes.get(n.name), n, `${n.name} untouched`);
  }
  const node = (name: string): Node => outNodes.get(name)!;
  const fusedOps = (n: Node): string[] => (n.attr?.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString());
  // _FusedConv2D: rank-k Conv2D with the source geometry, then the fused 1×1 on the factor.
  assert.equal(node('c1/Conv2D_u').op, 'Conv2D');
  assert.equal(node('c1/Conv2D_u').attr?.fused_ops, undefined);
  assert.deepEqual(node('c1/Conv2D_u').input, ['x', 'c1/kernel_u']);
  assert.equal(Buffer.from(node('c1/Conv2D_u').attr!.padding.s!, 'base64').toString(), 'SAME');
  assert.equal(node('c1/Conv2D').op, '_FusedConv2D');
  assert.deepEqual(node('c1/Conv2D').input, ['c1/Conv2D_u', 'c1/kernel_v', 'c1/bias']);
  assert.deepEqual(fusedOps(node('c1/Conv2D')), ['BiasAdd', 'Relu']);
  assert.deepEqual(node('c1/Conv2D_u').attr?.dilations.list?.i, ['1', '2', '2', '1']);
  assert.deepEqual(node('c1/Conv2D').attr?.dilations.list?.i, ['1', '1', '1', '1']);
  assert.deepEqual(node('c2/Conv2D_u').attr?.strides.list?.i, ['1', '2', '2', '1']);
  assert.deepEqual(node('c2/Conv2D').attr?.strides.list?.i, ['1', '1', '1', '1']);
  // _FusedMatMul: plain MatMul to rank k, the fusion on the second; factors stored untransposed.
  assert.equal(node('d1/MatMul_u').op, 'MatMul');
  assert.equal(node('d1/MatMul_u').attr?.fused_ops, undefined);
  assert.equal(node('d1/MatMul').op, '_FusedMatMul');
  assert.deepEqual(node('d1/MatMul').input, ['d1/MatMul_u', 'd1/kernel_v', 'd1/bias']);
  assert.deepEqual(fusedOps(node('d1/MatMul')), ['BiasAdd', 'Relu']);
  for (const n of ['d1/MatMul_u', 'd1/MatMul', 'd2/MatMul_u', 'd2/MatMul']) assert.equal(node(n).attr?.transpose_b.b, false, n);
  const shapes = new Map(out.weightsManifest[0].weights.map((w) => [w.name, w.shape]));
  assert.deepEqual([shapes.get('c1/kernel_u'), shapes.get('c1/kernel_v')], [[3, 3, 3, 5], [1, 1, 5, 16]]);
  assert.deepEqual([shapes.get('d1/kernel_u'), shapes.get('d1/kernel_v')], [[216, 10], [10, 64]]);
  assert.deepEqual([shapes.get('d2/kernel_u'), shapes.get('d2/kernel_v')], [[64, 4], [4, 10]]);
  assert.deepEqual(shapes.get('flat/shape'), [2], 'int32 weights copied');
});

test('tfjs graph: at a lower rank the output error of a linear graph is the reported weight error (transpose_a and transpose_b)', async () => {
  const dir = tempDir();
  const model = graphTransposed(dir);
  const report = compress(model, ...withPlan(dir, { 't/MatMul': 6 }));
  const err = report.layers[0].relativeError;
  assert.ok(err > 0.1, `rank 6 of a Gaussian 16×20 loses energy (${err})`);
  const x = { data: randomMatrix(16, 512, 22), shape: [16, 512] };
  const [ya, yb] = [await runTfjsGraph(model, x), await runTfjsGraph(report.output, x)];
  assert.deepEqual(yb.shape, [512, 20]);
  // White inputs: E‖x(W − W')‖² = ‖W − W'‖²_F per sample, so the ratio is 1 up to sampling noise.
  const ratio = relDiff(ya.data, yb.data) / err;
  assert.ok(Math.abs(ratio - 1) < 0.1, `output error ${relDiff(ya.data, yb.data)} vs weight error ${err}`);
  const nodes = json(report.output).modelTopology.node;
  const u = nodes.find((n) => n.name === 't/MatMul_u')!, v = nodes.find((n) => n.name === 't/MatMul')!;
  assert.deepEqual([u.attr?.transpose_a.b, u.attr?.transpose_b.b, v.attr?.transpose_a.b, v.attr?.transpose_b.b], [true, false, false, false]);
});

test('tfjs graph: a sharded _FusedMatMul with transpose_b computes relu(x·Wᵀ + b), before and after factorising', async () => {
  const dir = tempDir();
  const model = graphFusedTransposed(dir);
  const report = compress(model, ...withPlan(dir, { 'fc/MatMul': 5 }));
  const x = { data: randomMatrix(40, 24, 23), shape: [40, 24] };
  const source = await openModel(model);
  const [w, b] = [await source.readTensor('fc/kernel'), await source.readTensor('fc/bias')];
  await source.close();
  const tf = await tfjs();
  const reference = tf.tidy(() => tf.relu(tf.add(tf.matMul(tf.tensor(x.data, x.shape), tf.tensor(w, [16, 24]), false, true), tf.tensor(b))).dataSync() as Float32Array);
  // tfjs-backend-wasm computes this fused op wrong; the runtime runs such graphs on cpu.
  for (const path of [model, report.output]) {
    const y = await runTfjsGraph(path, x);
    assert.deepEqual(y.shape, [40, 16]);
    assert.ok(relDiff(reference, y.data) < 1e-4, `${path}: outputs differ by ${relDiff(reference, y.data)}`);
  }
  const ev = cli('evaluate', model, report.output, '--json');
  assert.equal(ev.code, 0, ev.stderr);
  assert.ok(JSON.parse(ev.stdout).relativeOutputError < 1e-4, ev.stdout);
});

test('tfjs graph: --dtype f16 / int8 store factors through the manifest quantization; a float16 source stays float16', async () => {
  const dir = tempDir();
  const model = graphCnn(dir);
  const ya = await runTfjsGraph(model, cnnInput);
  for (const dtype of ['f16', 'int8']) {
    const report = compress(model, ...withPlan(dir, CNN_RANKS), '--dtype', dtype, '-o', join(dir, `${dtype}.json`));
    const factors = json(report.output).weightsManifest[0].weights.filter((w) => /_[uv]$/.test(w.name));
    assert.equal(factors.length, 8);
    for (const w of factors) assert.equal(w.quantization?.dtype, dtype === 'f16' ? 'float16' : 'uint8', w.name);
    const err = relDiff(ya.data, (await runTfjsGraph(report.output, cnnInput)).data);
    assert.ok(err < (dtype === 'f16' ? 0.01 : 0.1), `${dtype}: output error ${err}`);
  }
  const halfDir = tempDir();
  const half = graphCnn(halfDir, 'float16');
  const report = compress(half, ...withPlan(halfDir, CNN_RANKS));
  assert.ok(report.layers.every((l) => l.dtype === 'f16'));
  const factors = json(report.output).weightsManifest[0].weights.filter((w) => /_[uv]$/.test(w.name));
  for (const w of factors) assert.equal(w.quantization?.dtype, 'float16', w.name);
  const err = relDiff((await runTfjsGraph(half, cnnInput)).data, (await runTfjsGraph(report.output, cnnInput)).data);
  assert.ok(err < 0.01, `float16 source: output error ${err}`);
});

test('tfjs graph: CLI compress --ratio 0.5 writes the size the parameters predict, for every dtype, and evaluate runs both in tfjs', () => {
  const dir = tempDir();
  const model = graphMlp(dir, [256, 512, 256, 10]);
  for (const dtype of [undefined, 'f16', 'int8']) {
    const report = compress(model, '--ratio', '0.5', '--allow-deep-cuts', '-o', join(dir, `out-${dtype ?? 'src'}.json`), ...(dtype ? ['--dtype', dtype] : []));
    assert.ok(report.compressedParams <= 0.5 * report.originalParams, `params ${report.compressedParams} of ${report.originalParams}`);
    assert.ok(report.compressedBytes <= 1.02 * report.predictedBytes + 4096, `${dtype}: ${report.compressedBytes} bytes written, ${report.predictedBytes} predicted`);
    const ev = cli('evaluate', model, report.output, '--json');
    assert.equal(ev.code, 0, ev.stderr);
    const e = JSON.parse(ev.stdout);
    assert.deepEqual([e.original.format, e.compressed.format, e.inputsFrom], ['tfjs-graph', 'tfjs-graph', 'random']);
    // Half the parameters of Gaussian weights: a real but bounded change of the outputs.
    assert.ok(e.samples > 0 && e.relativeOutputError > 1e-3 && e.relativeOutputError < 1, ev.stdout);
    assert.ok(e.top1Agreement > 0.5, ev.stdout);
  }
});

test('tfjs graph: a weight feeding two nodes is analysed once, under its first, but not factorised', async () => {
  const dir = tempDir();
  const g = new GraphBuilder();
  const x = g.placeholder('x', [-1, 12]);
  const w = g.const('shared/kernel', [12, 12], randomMatrix(12, 12, 30));
  const flags = { transpose_a: attr.bool(false), transpose_b: attr.bool(false) };
  g.op('Identity', 'MatMul', [g.op('a/MatMul', 'MatMul', [x, w], flags), w], flags);
  const model = await openModel(g.save(dir, 'Identity'));
  try {
    assert.deepEqual(model.layers.map((l) => [l.name, l.factorisable]), [['a/MatMul', false]]);
    assert.deepEqual([model.totalParams, model.sharedParams ?? 0], [144, 0]);
  } finally {
    await model.close();
  }
});

/** x → MatMul(w) → Relu → MatMul(copy of w, stored again under its own name) → MatMul(v, 12×6): 360 parameters, 144 of them a copy. */
function graphWithRepeat(dir: string): string {
  const g = new GraphBuilder();
  const x = g.placeholder('x', [-1, 12]);
  const flags = { transpose_a: attr.bool(false), transpose_b: attr.bool(false) };
  const w = randomMatrix(12, 12, 31);
  const first = g.op('a/MatMul', 'MatMul', [x, g.const('a/kernel', [12, 12], w)], flags);
  const second = g.op('b/MatMul', 'MatMul', [g.op('a/Relu', 'Relu', [first]), g.const('b/kernel', [12, 12], w.slice())], flags);
  g.op('Identity', 'MatMul', [second, g.const('c/kernel', [12, 6], randomMatrix(12, 6, 32))], flags);
  return g.save(dir, 'Identity');
}

test('tfjs graph: a weight stored twice, byte for byte, is read once, written once, counts toward --ratio, and the outputs do not change', async () => {
  const dir = tempDir();
  const model = graphWithRepeat(dir);
  const before = hash(model);
  const opened = await openModel(model);
  try {
    assert.deepEqual([opened.totalParams, opened.sharedParams], [360, 144]);
    assert.deepEqual(opened.tensors.map((t) => t.name), ['a/kernel', 'c/kernel']);
    // The kept copy now feeds both products, so neither may take factors alone.
    assert.deepEqual(opened.layers.map((l) => [l.name, l.weight, l.factorisable]), [['a/MatMul', 'a/kernel', false], ['Identity', 'c/kernel', true]]);
  } finally {
    await opened.close();
  }
  const a = cli('analyze', model, '--json');
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual((({ totalParams, sharedParams }) => [totalParams, sharedParams])(JSON.parse(a.stdout)), [360, 144]);
  // 0.7 of 360 is 252: keeping the copy once (216) reaches it, so no layer is cut.
  const kept = compress(model, '--ratio', '0.7');
  assert.deepEqual([kept.originalParams, kept.compressedParams, kept.layers.length], [360, 216, 0]);
  const out = json(kept.output);
  assert.deepEqual(out.weightsManifest[0].weights.map((w) => w.name), ['a/kernel', 'c/kernel']);
  assert.ok(!out.modelTopology.node.some((n) => n.name === 'b/kernel'), 'the copy\'s Const node is gone');
  assert.deepEqual(out.modelTopology.node.find((n) => n.name === 'b/MatMul')!.input, ['a/Relu', 'a/kernel']);
  const input = { data: randomMatrix(16, 12, 33), shape: [16, 12] };
  const [ya, yb] = [await runTfjsGraph(model, input), await runTfjsGraph(kept.output, input)];
  assert.deepEqual(yb.data, ya.data);
  assert.equal(hash(model), before, 'original untouched');
  // Nothing left for calibration data to decide: whitening writes the same model.
  const calib = join(dir, 'x.npy');
  writeFileSync(calib, encodeNpy({ dtype: 'float32', shape: [8, 12], data: randomMatrix(8, 12, 34) }));
  const whitened = compress(model, '--ratio', '0.7', '--method', 'whitened', '--calibration', calib, '-o', join(dir, 'whitened.json'));
  assert.deepEqual([whitened.compressedParams, whitened.layers.length, 'methodChoice' in whitened], [216, 0, false]);
  // Below what the copy saves, the rest of the budget is taken from the layer that can be cut.
  const cut = compress(model, '--ratio', '0.5', '--allow-deep-cuts', '-o', join(dir, 'cut.json'));
  assert.deepEqual(cut.layers.map((l) => l.name), ['Identity']);
  assert.ok(cut.compressedParams <= 180 && cut.compressedParams > 144, String(cut.compressedParams));
});

test('tfjs graph: fine-tuning, which trains TF.js layers models and ONNX graphs, is refused with one line, nothing written (whitening: whitenGraph.test.ts)', () => {
  const dir = tempDir();
  const model = graphCnn(dir);
  const calib = join(dir, 'x.npy');
  writeFileSync(calib, encodeNpy({ dtype: 'float32', shape: [4, 8, 8, 3], data: randomMatrix(4, 192, 24) }));
  const r = cli('compress', model, '--ratio', '0.5', '--calibration', calib, '--finetune', '10');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr.trim(), /^[^\n]*TF\.js layers, Keras, ONNX and Hugging Face folder models \(this is tfjs-graph\)$/);
  assert.deepEqual(readdirSync(dir).sort(), ['group1-shard1of1.bin', 'model.json', 'x.npy']);
});
