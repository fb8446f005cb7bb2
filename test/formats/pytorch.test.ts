// The PyTorch checkpoint reader against torch itself: same tensors, same spectra, and every
// hostile archive or pickle refused without running anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cli, makeFixtures } from '../helpers/cli.js';
import { numpySingularValues, python } from '../helpers/python.js';
import { readPytorch } from '../../core/formats/pytorch/read.js';
import { isModelPath } from '../../core/formats/open.js';

const dir = makeFixtures('test/fixtures/make_pytorch.py');

interface TorchTensor { shape: number[]; values: Float32Array }

/**
 * Tensors as torch.load sees them, as float32, one map per `file` or `file:key` (a key picks a
 * nested dict). One Python start for all: importing torch dominates. Only well-formed fixtures.
 */
function torchTensors(...specs: string[]): Map<string, TorchTensor>[] {
  const out = python(`
import sys, json, torch
meta, blobs = [], []
for spec in sys.argv[1:]:
    file, _, key = spec.partition(":")
    sd = torch.load(file, map_location="cpu")
    sd = sd[key] if key else sd
    meta.append([])
    for n, t in sd.items():
        b = t.detach().float().contiguous().numpy().tobytes()
        meta[-1].append([n, list(t.shape), len(b)]); blobs.append(b)
h = json.dumps(meta).encode()
sys.stdout.buffer.write(len(h).to_bytes(4, "little") + h + b"".join(blobs))`, undefined, specs);
  const len = out.readUInt32LE(0);
  const meta = JSON.parse(out.subarray(4, 4 + len).toString()) as [string, number[], number][][];
  let at = 4 + len;
  return meta.map((file) => new Map(file.map(([name, shape, bytes]) => {
    const values = new Float32Array(Uint8Array.prototype.slice.call(out, at, at + bytes).buffer);
    at += bytes;
    return [name, { shape, values }];
  })));
}

async function assertSameTensors(file: string, reference: Map<string, TorchTensor>): Promise<void> {
  const model = await readPytorch(file);
  try {
    assert.equal(model.format, 'pytorch');
    assert.deepEqual(model.tensors.map((t) => t.name), [...reference.keys()], `${file}: tensor names in order`);
    for (const [name, ref] of reference) {
      assert.deepEqual(model.tensor(name).shape, ref.shape, `${file}: ${name} shape`);
      assert.deepEqual(await model.readTensor(name), ref.values, `${file}: ${name} values`);
    }
  } finally {
    await model.close();
  }
}

test('tensors read exactly as torch.load gives them', async () => {
  const files = ['mlp.pt', 'cnn.pth', 'tagger.bin', 'mlp-bf16.pt', 'views.pt'];
  const refs = torchTensors(...files.map((f) => join(dir, f)), join(dir, 'zip64.pt'), `${join(dir, 'nested.pt')}:state_dict`);
  for (let i = 0; i < files.length; i++) await assertSameTensors(join(dir, files[i]), refs[i]);
  // A deflated re-zip (inflated on demand), a ZIP64 one and a nested checkpoint hold the same state dict.
  const [mlp, zip64, nested] = [refs[0], refs[files.length], refs[files.length + 1]];
  assert.deepEqual(zip64, mlp);
  assert.deepEqual(nested, mlp);
  for (const f of ['deflated.pt', 'zip64.pt', 'nested.pt']) await assertSameTensors(join(dir, f), mlp);
});

test('layers of a state dict: Linear, Conv2d, Embedding', async () => {
  const cnn = await readPytorch(join(dir, 'cnn.pth'));
  const tagger = await readPytorch(join(dir, 'tagger.bin'));
  try {
    assert.deepEqual(cnn.layers.map((l) => [l.name, l.kind, l.shape, l.matrix.rows, l.matrix.cols, l.bias]), [
      ['conv1', 'conv2d', [16, 3, 3, 3], 27, 16, 'conv1.bias'],
      ['conv2', 'conv2d', [32, 16, 3, 3], 144, 32, 'conv2.bias'],
      ['fc', 'linear', [10, 512], 512, 10, 'fc.bias'],
    ]);
    assert.equal(cnn.tensor('bn.num_batches_tracked').dtype, 'int64');
    assert.deepEqual(tagger.layers.map((l) => [l.name, l.kind, l.matrix.rows, l.matrix.cols]), [['embed', 'embedding', 100, 24], ['out', 'linear', 24, 5]]);
  } finally {
    await cnn.close(); await tagger.close();
  }
});

test('analyze --json: pytorch format and spectra agree with LAPACK', () => {
  const refs = torchTensors(join(dir, 'mlp.pt'), join(dir, 'cnn.pth'));
  for (const [i, f] of ['mlp.pt', 'cnn.pth'].entries()) {
    const r = cli('analyze', join(dir, f), '--json');
    assert.equal(r.code, 0, r.stderr);
    const a = JSON.parse(r.stdout);
    assert.equal(a.format, 'pytorch');
    const ref = refs[i];
    assert.equal(a.totalParams, [...ref.values()].reduce((s, t) => s + t.values.length, 0));
    for (const layer of a.layers as { name: string; singularValues: number[] }[]) {
      const w = ref.get(`${layer.name}.weight`)!;
      const sv = numpySingularValues(w.values, w.shape[0], w.values.length / w.shape[0]);
      assert.equal(layer.singularValues.length, sv.length, layer.name);
      sv.forEach((s, i) => assert.ok(Math.abs(layer.singularValues[i] - s) <= 1e-4 * sv[0], `${f} ${layer.name} σ[${i}]`));
    }
  }
});

test('hostile or unsupported checkpoints: one-line refusals, nothing executed', () => {
  const cases: [string, RegExp][] = [
    ['evil.pt', /refusing pickle global posix\.system/],
    ['module.pt', /refusing pickle global __main__\.Mlp .*save model\.state_dict\(\)/],
    ['opcode.pt', /unsupported pickle opcode 0x70/],
    ['huge.pt', /declares 2147483632 bytes, past the end/],
    ['overlap.pt', /overlap/],
    ['escape.pt', /entry name "\.\.\/\.\.\/outside\.txt" escapes the archive/],
    ['bomb.pt', /zip bomb/],
    ['noncontig.pt', /w\.weight is not contiguous/],
    ['int16.pt', /tensor w\.weight has unsupported element type ShortStorage/],
    ['legacy.pt', /legacy \(pre-1\.6, non-zip\) PyTorch checkpoint/],
    ['shard.bin', /not a PyTorch zip checkpoint \(a TF\.js weight shard/],
  ];
  for (const [name, pattern] of cases) {
    const file = join(dir, name);
    const r = cli('analyze', file);
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${name}: one line: ${r.stderr}`);
    assert.ok(lines[0].includes(file), `${name} names the file: ${lines[0]}`);
    assert.match(lines[0], pattern);
  }
  assert.equal(existsSync(join(dir, 'pwned')), false, 'the os.system payload must not have run');
});

test('.bin is listed as a model unless it is a TF.js shard', () => {
  assert.equal(isModelPath('/m/pytorch_model.bin'), true);
  assert.equal(isModelPath('/m/group1-shard1of2.bin'), false);
  assert.equal(isModelPath('/m/model.pth'), true);
});
