import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { factorsInMemory } from '../../core/compress/factorSource.js';
import type { Factorisation, StorageDType } from '../../core/compress/types.js';
import { onnxInputShape, runOnnx } from '../../core/formats/onnx/runtime.js';
import { readOnnx } from '../../core/formats/onnx/read.js';
import { writeOnnx } from '../../core/formats/onnx/write.js';
import type { StoredModel } from '../../core/formats/storedModel.js';
import { AtomicOutput } from '../../core/io/atomicOutput.js';
import { InputError, type Layer } from '../../core/types.js';
import { tempDir } from '../helpers/cli.js';
import { python } from '../helpers/python.js';
import { randomMatrix } from '../helpers/random.js';
import { checkModel, compressOnnx, describe, fixture, fullRank, relativeDifference } from './onnxKit.js';

/** Runs original and compressed on the same random input; returns ‖Δy‖/‖y‖. */
async function outputError(original: string, compressed: string): Promise<number> {
  const shape = (await onnxInputShape(original)).map((d) => (d < 0 ? 5 : d));
  const data = randomMatrix(1, shape.reduce((a, b) => a * b, 1), 11);
  const [a, b] = await Promise.all([runOnnx(original, { data, shape }), runOnnx(compressed, { data, shape })]);
  assert.deepEqual(b.shape, a.shape);
  return relativeDifference(b.data, a.data);
}

const ONNX_FLOAT = 1, ONNX_INT8 = 3, ONNX_FLOAT16 = 10;

test('full rank: valid models that compute what the originals compute, other content untouched', async () => {
  for (const name of ['mlp.onnx', 'gemm.onnx', 'gemm-transa.onnx', 'constant.onnx', 'cnn.onnx', 'external.onnx', 'mlp-f16.onnx', 'mlp-ir3.onnx']) {
    const { out, model } = await compressOnnx(fixture(name), fullRank);
    checkModel(out);
    const err = await outputError(fixture(name), out);
    // float16 models compute in float16: the factored product rounds twice.
    assert.ok(err <= (name.includes('f16') ? 1e-3 : 1e-4), `${name}: output differs by ${err}`);
    const before = describe(fixture(name)), after = describe(out);
    const replaced = new Set(model.layers.filter((l) => l.factorisable).map((l) => l.weight));
    // Before IR 4 initializers are graph inputs too: the replaced ones leave, the factors join.
    const inputs = before.ir < 4
      ? [...before.inputs.filter((i) => !replaced.has(i)), ...[...replaced].flatMap((w) => [`${w}_u`, `${w}_v`])]
      : before.inputs;
    assert.deepEqual([after.inputs, after.outputs, after.opset, after.ir], [inputs, before.outputs, before.opset, before.ir], name);
    for (const [n, t] of Object.entries(before.inits)) {
      if (replaced.has(n)) assert.equal(after.inits[n], undefined, `${name}: ${n} dropped`);
      else assert.deepEqual(after.inits[n], t, `${name}: ${n} kept as it was`);
    }
    for (const l of model.layers.filter((x) => x.factorisable)) {
      const k = fullRank(l);
      const u = after.inits[`${l.weight}_u`], v = after.inits[`${l.weight}_v`];
      assert.ok(u && v, `${name}: factors of ${l.weight}`);
      assert.equal(u.dims.reduce((a, b) => a * b, 1), l.matrix.rows * k);
      assert.equal(v.dims.reduce((a, b) => a * b, 1), k * l.matrix.cols);
    }
  }
});

test('Conv becomes Conv(k filters, same kernel/strides/pads) + Conv 1×1 with the bias', async () => {
  const { out } = await compressOnnx(fixture('cnn.onnx'), () => 3, undefined, ['/conv2/Conv']);
  const nodes = JSON.parse(python(
    'import sys,json,onnx;m=onnx.load(sys.argv[1]);print(json.dumps([[n.op_type,list(n.input),{a.name:list(a.ints) for a in n.attribute if a.ints}] for n in m.graph.node if n.op_type=="Conv"]))',
    undefined, [out],
  ).toString());
  const [first, second] = nodes.filter((n: [string, string[]]) => n[1][1].startsWith('conv2.weight'));
  assert.deepEqual(first[2], { dilations: [1, 1], kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] });
  assert.equal(first[1].length, 2, 'no bias on the k-filter conv');
  assert.deepEqual(second[2], { kernel_shape: [1, 1] });
  assert.equal(second[1][2], 'conv2.bias');
  const inits = describe(out).inits;
  assert.deepEqual(inits['conv2.weight_u'].dims, [3, 8, 3, 3]);
  assert.deepEqual(inits['conv2.weight_v'].dims, [16, 3, 1, 1]);
});

test('lower rank: the runtime computes x·A·B exactly, and error falls as rank grows', async () => {
  const { out, factors } = await compressOnnx(fixture('constant.onnx'), () => 4);
  checkModel(out);
  const f = factors.get('proj')!;
  const x = randomMatrix(2, 20, 5);
  const y = (await runOnnx(out, { data: x, shape: [2, 20] })).data;
  const expected = new Float32Array(2 * 16);
  for (let i = 0; i < 2; i++) for (let r = 0; r < 4; r++) {
    let xa = 0;
    for (let j = 0; j < 20; j++) xa += x[i * 20 + j] * f.a[j * 4 + r];
    for (let c = 0; c < 16; c++) expected[i * 16 + c] += xa * f.b[r * 16 + c];
  }
  assert.ok(relativeDifference(y, expected) <= 1e-5, `ORT vs x·A·B: ${relativeDifference(y, expected)}`);

  const errors: number[] = [];
  for (const rank of [1, 2, 4, 8]) {
    const r = await compressOnnx(fixture('gemm.onnx'), (l) => Math.min(rank, fullRank(l)));
    checkModel(r.out);
    errors.push(await outputError(fixture('gemm.onnx'), r.out));
  }
  for (let i = 1; i < errors.length; i++) assert.ok(errors[i] < errors[i - 1], `errors by rank ${errors}`);
  assert.ok(errors[0] > 1e-2, `rank 1 is lossy: ${errors[0]}`);
});

/** Bytes the parameters and dtypes imply: untouched tensors as stored, factors at the storage width. */
function predictedBytes(model: StoredModel<unknown>, factors: Map<string, Factorisation>, dtype?: StorageDType): number {
  const width = (l: Layer): number => (dtype ? { f32: 4, f16: 2, int8: 1 }[dtype] : { float32: 4, float16: 2, bfloat16: 2, float64: 8 }[l.dtype as 'float32'] ?? 4);
  const replaced = new Set([...factors.values()].map((f) => f.layer.weight));
  let bytes = model.tensors.filter((t) => !replaced.has(t.name)).reduce((s, t) => s + t.storedBytes, 0);
  for (const f of factors.values()) bytes += (f.a.length + f.b.length) * width(f.layer);
  return bytes;
}

test('f16 and int8 factors: stock initializer types, valid, load and run; size as predicted', async () => {
  const cases: [string, StorageDType | undefined, number, number][] = [
    ['cnn.onnx', 'f16', ONNX_FLOAT16, 1e-3], ['cnn.onnx', 'int8', ONNX_INT8, 3e-2], ['cnn.onnx', 'f32', ONNX_FLOAT, 1e-4],
    ['mlp-f16.onnx', 'int8', ONNX_INT8, 5e-2], ['mlp.onnx', 'f16', ONNX_FLOAT16, 1e-3], ['mlp.onnx', undefined, ONNX_FLOAT, 1e-4],
  ];
  for (const [name, dtype, onnxType, tolerance] of cases) {
    const full = await compressOnnx(fixture(name), fullRank, dtype);
    checkModel(full.out);
    const err = await outputError(fixture(name), full.out);
    assert.ok(err <= tolerance, `${name} ${dtype}: output differs by ${err}`);
    const inits = describe(full.out).inits;
    for (const l of full.model.layers.filter((x) => x.factorisable)) assert.equal(inits[`${l.weight}_u`].dtype, onnxType, `${name} ${dtype} ${l.weight}_u`);

    const low = await compressOnnx(fixture(name), (l) => Math.max(1, Math.floor(fullRank(l) / 4)), dtype);
    checkModel(low.out);
    const predicted = predictedBytes(low.model, low.factors, dtype);
    const written = statSync(low.out).size;
    assert.ok(written <= 1.02 * predicted + 4096, `${name} ${dtype}: ${written} bytes written, ${predicted} predicted`);
    assert.ok(written < statSync(fixture(name)).size, `${name} ${dtype}: smaller than the original`);
  }
});

test('external-data models are written with every tensor inline', async () => {
  const { out } = await compressOnnx(fixture('external.onnx'), (l) => Math.min(8, fullRank(l)));
  // Alone in a fresh folder, with no data file beside it.
  const alone = join(tempDir(), 'alone');
  mkdirSync(alone);
  copyFileSync(out, join(alone, 'model.onnx'));
  checkModel(join(alone, 'model.onnx'));
  const external = python('import sys,onnx;m=onnx.load(sys.argv[1],load_external_data=False);print(sum(t.data_location==1 for t in m.graph.initializer))', undefined, [join(alone, 'model.onnx')]);
  assert.equal(external.toString().trim(), '0');
  // Same weights as mlp.onnx stored inline: the same factors must give the same outputs.
  const inline = await compressOnnx(fixture('mlp.onnx'), (l) => Math.min(8, fullRank(l)));
  assert.ok(await outputError(inline.out, join(alone, 'model.onnx')) <= 1e-6);
});

test('refusals: unknown or non-factorisable layers, int8 below opset 10', async () => {
  const model = await readOnnx(fixture('cnn.onnx'));
  const grouped = model.layers.find((l) => l.name === '/grouped/Conv')!;
  const fake: Factorisation = { layer: grouped, rank: 1, a: new Float32Array(36), b: new Float32Array(16), relativeError: 1 };
  const sink = new AtomicOutput(model.files);
  await assert.rejects(writeOnnx(model, factorsInMemory(new Map([['/grouped/Conv', fake]])), join(tempDir(), 'g.onnx'), sink, {}), (e: unknown) => e instanceof InputError && /cannot be factorised/.test(e.message));
  await assert.rejects(writeOnnx(model, factorsInMemory(new Map([['nope', fake]])), join(tempDir(), 'n.onnx'), sink, {}), (e: unknown) => e instanceof InputError && /no layer named nope/.test(e.message));
  await sink.abort();
  await model.close();
  await assert.rejects(compressOnnx(fixture('mlp-opset9.onnx'), () => 2, 'int8'), (e: unknown) => e instanceof InputError && /opset 10.*opset 9/.test(e.message));
  const f16 = await compressOnnx(fixture('mlp-opset9.onnx'), () => 2, 'f16');
  checkModel(f16.out);
});
