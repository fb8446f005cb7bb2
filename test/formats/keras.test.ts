import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { cli, makeFixtures, tempDir, type CliResult } from '../helpers/cli.js';
import { python } from '../helpers/python.js';
import { randomMatrix } from '../helpers/random.js';
import { factorize, ownCopy } from '../../core/compress/factorize.js';
import { factorsInMemory } from '../../core/compress/factorSource.js';
import type { Factorisation, StorageDType } from '../../core/compress/types.js';
import { EmbeddedEngine } from '../../core/engines/embedded.js';
import { openModel } from '../../core/formats/open.js';
import { KerasModel } from '../../core/formats/keras/read.js';
import { writeKeras } from '../../core/formats/keras/write.js';
import { AtomicOutput } from '../../core/io/atomicOutput.js';
import { encodeNpy } from '../../core/io/npy.js';
import { InputError } from '../../core/types.js';

const dir = makeFixtures('test/fixtures/make_keras.py');
const engine = new EmbeddedEngine(1);
after(() => engine.close());

// Reference side, independent of our reader: h5py opens the file (the .keras weights from
// the zip), numpy computes the spectrum of each kernel reshaped to (-1, last axis).
const H5PY_OPEN = `
import sys, json, io, zipfile, h5py, numpy as np
def open_model(path):
    if path.endswith('.keras'):
        z = zipfile.ZipFile(path)
        return json.loads(z.read('config.json')), h5py.File(io.BytesIO(z.read('model.weights.h5')), 'r')
    f = h5py.File(path, 'r')
    c = f.attrs['model_config']
    return json.loads(c.decode() if isinstance(c, bytes) else c), f
`;
const SPECTRA = `${H5PY_OPEN}
config, f = open_model(sys.argv[1])
total = 0
def count(name, obj):
    global total
    if isinstance(obj, h5py.Dataset) and not name.startswith(('optimizer', 'optimizer_weights')): total += int(obj.size)
f.visititems(count)
out = {'total': total}
for path in json.loads(sys.argv[2]):
    k = np.array(f[path], dtype=np.float64)
    out[path] = np.linalg.svd(k.reshape(-1, k.shape[-1]), compute_uv=False).tolist()
print(json.dumps(out))
`;

interface Expected { name: string; kind: string; shape: number[]; path: string }

function expectLayers(file: string, expected: Expected[]): void {
  const r = cli('analyze', join(dir, file), '--json');
  assert.equal(r.code, 0, r.stderr);
  const a = JSON.parse(r.stdout);
  const ref = JSON.parse(python(SPECTRA, undefined, [join(dir, file), JSON.stringify(expected.map((e) => e.path))]).toString());
  assert.equal(a.format, file.endsWith('.keras') ? 'keras' : 'keras-h5');
  assert.equal(a.totalParams, ref.total);
  assert.deepEqual(a.layers.map((l: { name: string }) => l.name), expected.map((e) => e.name));
  for (const e of expected) {
    const l = a.layers.find((x: { name: string }) => x.name === e.name);
    assert.equal(l.kind, e.kind, e.name);
    assert.deepEqual(l.shape, e.shape, e.name);
    const sigma = ref[e.path] as number[];
    assert.equal(l.singularValues.length, sigma.length, e.name);
    sigma.forEach((s, i) => assert.ok(Math.abs(l.singularValues[i] - s) <= 1e-4 * sigma[0], `${file} ${e.name} σ[${i}]: ${l.singularValues[i]} vs ${s}`));
  }
}

const DENSE = (name: string, shape: number[], path: string): Expected => ({ name, kind: 'dense', shape, path });

test('legacy .h5: Sequential MLP, functional model with a nested Sequential', () => {
  expectLayers('mlp.h5', [
    DENSE('dense', [64, 48], 'model_weights/dense/dense/kernel:0'),
    DENSE('dense_1', [48, 32], 'model_weights/dense_1/dense_1/kernel:0'),
    DENSE('dense_2', [32, 10], 'model_weights/dense_2/dense_2/kernel:0'),
  ]);
  expectLayers('functional.h5', [
    DENSE('dense_a', [64, 48], 'model_weights/dense_a/dense_a/kernel:0'),
    DENSE('dense_b', [48, 32], 'model_weights/encoder/dense_b/kernel:0'),
    DENSE('dense_c', [32, 32], 'model_weights/encoder/dense_c/kernel:0'),
    DENSE('dense_d', [48, 32], 'model_weights/dense_d/dense_d/kernel:0'),
    DENSE('dense_out', [32, 10], 'model_weights/dense_out/dense_out/kernel:0'),
  ]);
});

test('legacy .h5: embedding, conv1d, recurrent kernels, conv2d, depthwise and grouped convs', () => {
  expectLayers('zoo.h5', [
    { name: 'embedding', kind: 'embedding', shape: [1000, 32], path: 'model_weights/embedding/embedding/embeddings:0' },
    { name: 'conv1d', kind: 'conv1d', shape: [3, 32, 24], path: 'model_weights/conv1d/conv1d/kernel:0' },
    { name: 'lstm', kind: 'lstm', shape: [24, 64], path: 'model_weights/lstm/lstm/lstm_cell/kernel:0' },
    { name: 'gru', kind: 'gru', shape: [16, 24], path: 'model_weights/gru/gru/gru_cell/kernel:0' },
    DENSE('dense_z', [8, 4], 'model_weights/dense_z/dense_z/kernel:0'),
  ]);
  expectLayers('convnet.h5', [
    { name: 'conv2d', kind: 'conv2d', shape: [3, 3, 3, 8], path: 'model_weights/conv2d/conv2d/kernel:0' },
    { name: 'depthwise_conv2d', kind: 'depthwise', shape: [3, 3, 8, 1], path: 'model_weights/depthwise_conv2d/depthwise_conv2d/depthwise_kernel:0' },
    { name: 'conv2d_1', kind: 'conv2d', shape: [3, 3, 8, 16], path: 'model_weights/conv2d_1/conv2d_1/kernel:0' },
    { name: 'grouped', kind: 'conv2d', shape: [3, 3, 8, 16], path: 'model_weights/grouped/grouped/kernel:0' },
    DENSE('dense_head', [784, 10], 'model_weights/dense_head/dense_head/kernel:0'),
  ]);
});

test('Keras 3 .keras: vars layout, nested models, recurrent cells; optimizer state is not counted', () => {
  expectLayers('mlp.keras', [
    DENSE('dense', [64, 48], 'layers/dense/vars/0'),
    DENSE('dense_1', [48, 32], 'layers/dense_1/vars/0'),
    DENSE('dense_2', [32, 10], 'layers/dense_2/vars/0'),
  ]);
  expectLayers('functional.keras', [
    DENSE('dense_a', [64, 48], 'layers/dense_a/vars/0'),
    DENSE('dense_b', [48, 32], 'layers/encoder/layers/dense_b/vars/0'),
    DENSE('dense_c', [32, 32], 'layers/encoder/layers/dense_c/vars/0'),
    DENSE('dense_d', [48, 32], 'layers/dense_d/vars/0'),
    DENSE('dense_out', [32, 10], 'layers/dense_out/vars/0'),
  ]);
  expectLayers('zoo.keras', [
    { name: 'embedding', kind: 'embedding', shape: [1000, 32], path: 'layers/embedding/vars/0' },
    { name: 'conv1d', kind: 'conv1d', shape: [3, 32, 24], path: 'layers/conv1d/vars/0' },
    { name: 'lstm', kind: 'lstm', shape: [24, 64], path: 'layers/lstm/cell/vars/0' },
    { name: 'gru', kind: 'gru', shape: [16, 24], path: 'layers/gru/cell/vars/0' },
    DENSE('dense_z', [8, 4], 'layers/dense_z/vars/0'),
  ]);
});

test('the reader flags what must not be factorised', async () => {
  for (const file of ['zoo.h5', 'convnet.h5', 'zoo.keras']) {
    const m = await openModel(join(dir, file));
    try {
      const flags = Object.fromEntries(m.layers.map((l) => [l.name, l.factorisable]));
      for (const n of ['lstm', 'gru', 'depthwise_conv2d', 'grouped']) if (n in flags) assert.equal(flags[n], false, `${file} ${n}`);
      for (const n of ['embedding', 'conv1d', 'conv2d', 'conv2d_1', 'dense_z']) if (n in flags) assert.equal(flags[n], true, `${file} ${n}`);
    } finally {
      await m.close();
    }
  }
});

/** Factorises `layers` (every factorisable one when omitted) at `rank` (capped per layer) and writes the result. */
async function compress(file: string, rank: (rows: number, cols: number) => number, opts: { dtype?: StorageDType; layers?: string[]; adjust?: (f: Factorisation) => void } = {}): Promise<string> {
  const model = await openModel(join(dir, file));
  try {
    assert.ok(model instanceof KerasModel);
    const factors = new Map<string, Factorisation>();
    for (const l of model.layers) {
      if (!l.factorisable || (opts.layers && !opts.layers.includes(l.name))) continue;
      const f = await factorize(model, l, rank(l.matrix.rows, l.matrix.cols), engine, {}, ownCopy);
      opts.adjust?.(f);
      factors.set(l.name, f);
    }
    const out = join(tempDir(), file.replace(/\.(h5|keras)$/, '.reduced.$1'));
    const sink = new AtomicOutput(model.files);
    try {
      await writeKeras(model, factorsInMemory(factors), out, sink, { dtype: opts.dtype });
      await sink.commit();
    } catch (e) {
      await sink.abort();
      throw e;
    }
    return out;
  } finally {
    await model.close();
  }
}

// Weights by layer name, in Keras' order (kernel, bias): legacy files by the scope of each
// weight name, Keras 3 files by their layers/<name>/vars groups.
const WEIGHTS = `
def weights(config, f):
    out = {}
    if 'model_weights' in f:
        mw = f['model_weights']
        for g in mw.attrs['layer_names']:
            g = g.decode()
            for n in mw[g].attrs['weight_names']:
                n = n.decode()
                out.setdefault(n.split('/')[-2], []).append(np.array(mw[g][n]))
    else:
        def visit(name, obj):
            parts = name.split('/')
            if isinstance(obj, h5py.Group) and len(parts) >= 3 and parts[-1] == 'vars' and parts[-3] == 'layers':
                out[parts[-2]] = [np.array(obj[str(i)]) for i in range(len(obj))]
        f.visititems(visit)
    return out
`;

// A numpy forward pass that reads the architecture and weights from the file itself:
// Sequential and functional graphs (legacy node lists and Keras 3 keras_history), nested
// models, Dense with activations by name, Dropout (inference: identity) and Add.
// `truncate` replaces named kernels of the model by their rank-k numpy SVD first.
const FORWARD = `${H5PY_OPEN}${WEIGHTS}def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True)); return e / e.sum(-1, keepdims=True)
ACT = {'linear': lambda x: x, 'relu': lambda x: np.maximum(x, 0), 'tanh': np.tanh, 'softmax': softmax}
def call(l, x, W, names):
    c, cfg = l['class_name'], l['config']
    if c in ('Sequential', 'Functional', 'Model'): return model(l, x, W, names)
    names.append(cfg['name'])
    if c in ('InputLayer', 'Dropout'): return x
    if c == 'Add': return sum(x)
    if c != 'Dense': raise ValueError('layer ' + c)
    w = W[cfg['name']]
    y = x @ w[0] + (w[1] if cfg.get('use_bias', True) else 0)
    return ACT[cfg['activation']](y)
def model(m, x, W, names):
    c = m['config']
    if m['class_name'] == 'Sequential':
        for l in c['layers']: x = call(l, x, W, names)
        return x
    out = {(c['input_layers'][0][0], 0): x}
    def value(t):
        if isinstance(t, dict): return out[tuple(t['config']['keras_history'][:2])]
        if isinstance(t, list) and len(t) == 4 and isinstance(t[0], str): return out[(t[0], t[1])]
        return [value(y) for y in t]
    for l in c['layers']:
        if l['class_name'] == 'InputLayer': continue
        for i, node in enumerate(l['inbound_nodes']):
            args = value(node['args'][0]) if isinstance(node, dict) else value(node)
            out[(l['name'], i)] = call(l, args[0] if isinstance(node, list) and len(node) == 1 else args, W, names)
    o = c['output_layers'][0]
    return out[(o[0], o[1])]
config, f = open_model(sys.argv[1])
W = weights(config, f)
for name, k in json.loads(sys.argv[2]).items():
    u, s, vt = np.linalg.svd(W[name][0].astype(np.float64), full_matrices=False)
    W[name][0] = ((u[:, :k] * s[:k]) @ vt[:k]).astype(np.float32)
first = config['config']['layers'][0]['config']
x = np.load(sys.argv[3]) if len(sys.argv) > 3 else np.random.default_rng(0).standard_normal((16, (first.get('batch_input_shape') or first['batch_shape'])[-1])).astype(np.float32)
names = []
y = model(config, x, W, names)
print(json.dumps({'y': y.astype(np.float64).ravel().tolist(), 'layers': names}))
`;

interface Forward { y: number[]; layers: string[] }
function forward(path: string, truncate: Record<string, number> = {}, inputs?: string): Forward {
  return JSON.parse(python(FORWARD, undefined, [path, JSON.stringify(truncate), ...(inputs ? [inputs] : [])]).toString());
}
const maxDiff = (a: number[], b: number[]): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

const MLP_LAYERS: Record<string, string[]> = {
  mlp: ['dense', 'dense_1', 'dense_2'],
  functional: ['dense_a', 'dense_b', 'dense_c', 'dense_d', 'dense_out'],
};

for (const file of ['mlp.h5', 'functional.h5', 'mlp.keras', 'functional.keras']) {
  test(`${file}: factorised at full rank, h5py + numpy reproduce the original outputs`, async () => {
    const original = forward(join(dir, file));
    const out = await compress(file, (r, c) => Math.min(r, c));
    const reduced = forward(out);
    const dense = MLP_LAYERS[file.replace(/\.(h5|keras)$/, '')];
    for (const n of dense) {
      assert.ok(reduced.layers.includes(`${n}_u`) && reduced.layers.includes(`${n}_v`), `${n} split: ${reduced.layers}`);
      assert.ok(!reduced.layers.includes(n), `${n} removed`);
    }
    assert.equal(reduced.y.length, original.y.length);
    assert.ok(maxDiff(reduced.y, original.y) <= 1e-4, `max diff ${maxDiff(reduced.y, original.y)}`);
  });

  test(`${file}: lower ranks give the outputs of the rank-k truncated model, degrading as k falls`, async () => {
    const original = forward(join(dir, file));
    const dense = MLP_LAYERS[file.replace(/\.(h5|keras)$/, '')];
    let previous = 0;
    for (const k of [12, 6, 2]) {
      const reduced = forward(await compress(file, (r, c) => Math.min(k, r, c)));
      const reference = forward(join(dir, file), Object.fromEntries(dense.map((n) => [n, k])));
      assert.ok(maxDiff(reduced.y, reference.y) <= 1e-4, `rank ${k}: ${maxDiff(reduced.y, reference.y)} from the numpy truncation`);
      const err = maxDiff(reduced.y, original.y);
      assert.ok(err > previous, `rank ${k}: error ${err} should exceed ${previous}`);
      previous = err;
    }
  });
}

// The pair's kernels compose to the truncated kernel: ConvND(k) then a 1×…×1 conv is one conv
// whose kernel is u·v, so this checks the conv split without a numpy conv implementation.
const PAIRS = `${H5PY_OPEN}
config, f = open_model(sys.argv[1])
_, original = open_model(sys.argv[2])
def kernel(h5, layer):
    hits = []
    h5.visititems(lambda n, o: hits.append(n) if isinstance(o, h5py.Dataset) and layer in n.split('/')[:-1] and n.split('/')[-1] in ('0', 'kernel:0', 'embeddings:0') else None)
    return np.array(h5[hits[0]])
def flat(m):
    out = []
    for l in m['config']['layers']:
        out += flat(l) if isinstance(l['config'].get('layers'), list) else [l]
    return out
layers = {l['config']['name']: l for l in flat(config)}
out = {}
for name, k in json.loads(sys.argv[3]).items():
    u, v, w = kernel(f, name + '_u'), kernel(f, name + '_v'), kernel(original, name)
    a, s, bt = np.linalg.svd(w.reshape(-1, w.shape[-1]).astype(np.float64), full_matrices=False)
    truncated = (a[:, :k] * s[:k]) @ bt[:k]
    product = u.reshape(-1, u.shape[-1]).astype(np.float64) @ v.reshape(-1, v.shape[-1])
    out[name] = {'u': layers[name + '_u'], 'v': layers[name + '_v'], 'uShape': list(u.shape), 'vShape': list(v.shape),
                 'diff': float(np.abs(product - truncated).max()), 'scale': float(s[0])}
print(json.dumps(out))
`;

test('Conv1D/Conv2D split into ConvND(k, same kernel) + 1×…×1 conv; Embedding into Embedding(k) + Dense', async () => {
  const cases: [string, string[], number][] = [['convnet.h5', ['conv2d_1'], 4], ['zoo.h5', ['conv1d', 'embedding'], 5], ['zoo.keras', ['conv1d', 'embedding'], 5]];
  for (const [file, layers, k] of cases) {
    const out = await compress(file, () => k, { layers });
    const pairs = JSON.parse(python(PAIRS, undefined, [out, join(dir, file), JSON.stringify(Object.fromEntries(layers.map((n) => [n, k])))]).toString());
    for (const n of layers) {
      const p = pairs[n];
      assert.ok(p.diff <= 1e-4 * p.scale, `${file} ${n}: u·v differs from the truncated kernel by ${p.diff}`);
      if (n === 'conv2d_1') {
        assert.deepEqual(p.uShape, [3, 3, 8, 4]);
        assert.deepEqual(p.vShape, [1, 1, 4, 16]);
        assert.equal(p.u.class_name, 'Conv2D');
        assert.deepEqual([p.u.config.filters, p.u.config.strides, p.u.config.padding, p.u.config.use_bias, p.u.config.activation], [4, [2, 2], 'valid', false, 'linear']);
        assert.deepEqual([p.v.config.filters, p.v.config.kernel_size, p.v.config.strides, p.v.config.use_bias, p.v.config.activation], [16, [1, 1], [1, 1], true, 'relu']);
      }
      if (n === 'embedding') {
        assert.equal(p.u.class_name, 'Embedding');
        assert.equal(p.v.class_name, 'Dense');
        assert.equal(p.v.config.units, 32);
        assert.equal(p.v.config.use_bias, false);
        if (file.endsWith('.h5')) assert.deepEqual(p.u.config.batch_input_shape, [null, 20], 'the input shape stays on the first layer');
        assert.equal(p.v.config.batch_input_shape, undefined);
      }
    }
  }
});

// Keras 2 loads a legacy file's layer groups by position in model.layers, whose order for a
// functional model is computed from the graph; this is keras/engine/functional.py's
// _map_graph_network + _build_map, run on the config.
const KERAS_ORDER = `${H5PY_OPEN}
def keras_order(m):
    c = m['config']
    inbound = {l['name']: [[(r[0], r[1]) for r in node] for node in l['inbound_nodes']] for l in c['layers']}
    parents = lambda layer, ni: inbound[layer][ni] if ni < len(inbound[layer]) else []
    index, post, done = {}, [], set()
    def visit(layer, ni):
        if (layer, ni) in done: return
        index.setdefault(layer, len(index))
        for l, n in parents(layer, ni): visit(l, n)
        done.add((layer, ni)); post.append((layer, ni))
    for o in c['output_layers']: visit(o[0], o[1])
    nodes_depths, layers_depths = {}, {}
    for layer, ni in reversed(post):
        depth = max(nodes_depths.setdefault((layer, ni), 0), layers_depths.get(layer, 0))
        layers_depths[layer] = depth; nodes_depths[(layer, ni)] = depth
        for p in parents(layer, ni): nodes_depths[p] = max(depth + 1, nodes_depths.get(p, 0))
    return sorted(layers_depths, key=lambda l: (-layers_depths[l], index[l]))
config, f = open_model(sys.argv[1])
if len(sys.argv) > 2:
    # A nested model: the owners of its group's weights, in the order they are listed.
    inner = next(l for l in config['config']['layers'] if l['name'] == sys.argv[2])
    owners = [n.decode().split('/')[-2] for n in f['model_weights'][sys.argv[2]].attrs['weight_names']]
    print(json.dumps([keras_order(inner), [o for i, o in enumerate(owners) if i == 0 or owners[i - 1] != o]]))
else:
    print(json.dumps([keras_order(config), [n.decode() for n in f['model_weights'].attrs['layer_names']]]))
`;

test('legacy functional output lists its layer groups in the order Keras 2 will load them', async () => {
  const [stored, names] = JSON.parse(python(KERAS_ORDER, undefined, [join(dir, 'branches.h5')]).toString());
  assert.deepEqual(names, stored, 'the fixture itself is in Keras order');
  const out = await compress('branches.h5', () => 6, { layers: ['dense_d'] });
  const [order, written] = JSON.parse(python(KERAS_ORDER, undefined, [out]).toString());
  // dense_d_u now sits deeper than dense_b: in place would have been dense_b, dense_d_u, dense_d_v.
  assert.deepEqual(order, ['input_1', 'dense_a', 'dense_d_u', 'dense_b', 'dense_d_v', 'add', 'dense_out']);
  assert.deepEqual(written, order);
  const [allOrder, allWritten] = JSON.parse(python(KERAS_ORDER, undefined, [await compress('functional.h5', () => 6)]).toString());
  assert.deepEqual(allWritten, allOrder);
  // Inside a nested functional model the same reordering applies to its weight list.
  const nested = await compress('nested.h5', () => 6, { layers: ['dense_d'] });
  const [innerOrder, owners] = JSON.parse(python(KERAS_ORDER, undefined, [nested, 'inner']).toString());
  assert.deepEqual(owners, ['dense_a', 'dense_d_u', 'dense_b', 'dense_d_v', 'dense_out']);
  assert.deepEqual(owners, innerOrder.filter((n: string) => owners.includes(n)));
  const reference = forward(join(dir, 'nested.h5'), { dense_d: 6 });
  assert.ok(maxDiff(forward(nested).y, reference.y) <= 1e-4, 'nested output');
});

test('legacy output keeps Keras metadata and drops the optimizer state', async () => {
  const out = await compress('mlp.h5', () => 8);
  const attrs = JSON.parse(python(`${H5PY_OPEN}
config, f = open_model(sys.argv[1])
s = lambda v: v.decode() if isinstance(v, bytes) else str(v)
print(json.dumps({'root': sorted(f.attrs.keys()), 'keras_version': s(f.attrs['keras_version']), 'groups': sorted(f.keys()),
  'layer_names': [s(n) for n in f['model_weights'].attrs['layer_names']], 'dropout': len(f['model_weights/dropout'].attrs['weight_names'])}))
`, undefined, [out]).toString());
  assert.deepEqual(attrs.root, ['backend', 'keras_version', 'model_config', 'training_config']);
  assert.equal(attrs.keras_version, '2.15.0');
  assert.deepEqual(attrs.groups, ['model_weights']);
  assert.deepEqual(attrs.layer_names, ['dense_u', 'dense_v', 'dropout', 'dense_1_u', 'dense_1_v', 'dense_2_u', 'dense_2_v']);
  assert.equal(attrs.dropout, 0);
});

// TF.js deserialises Keras 2 model configs (its converter copies model_config as is), so it
// checks the rewritten legacy configs with a loader we did not write. It cannot nest models,
// hence branches.h5: functional.h5's graph without the nested Sequential.
test('TF.js builds the rewritten legacy configs and, with the h5py-read weights, predicts like the original', async () => {
  const tf = await import('@tensorflow/tfjs');
  const predict = async (path: string, x: import('@tensorflow/tfjs').Tensor): Promise<Float32Array> => {
    const read = JSON.parse(python(`${H5PY_OPEN}${WEIGHTS}
config, f = open_model(sys.argv[1])
print(json.dumps({'config': config, 'weights': {k: [[list(a.shape), a.ravel().tolist()] for a in v] for k, v in weights(config, f).items()}}))
`, undefined, [path]).toString());
    const model = await tf.models.modelFromJSON({ modelTopology: { model_config: read.config } } as unknown as import('@tensorflow/tfjs').io.ModelJSON);
    const layers = (m: import('@tensorflow/tfjs').LayersModel): import('@tensorflow/tfjs').layers.Layer[] =>
      m.layers.flatMap((l) => ('layers' in l ? layers(l as import('@tensorflow/tfjs').LayersModel) : [l]));
    for (const l of layers(model)) {
      const w = read.weights[l.name] as [number[], number[]][] | undefined;
      if (w) l.setWeights(w.map(([shape, values]) => tf.tensor(values, shape)));
    }
    return (model.predict(x) as import('@tensorflow/tfjs').Tensor).dataSync() as Float32Array;
  };
  const x = tf.tensor(randomMatrix(16, 64, 7), [16, 64]);
  for (const file of ['mlp.h5', 'branches.h5']) {
    const original = await predict(join(dir, file), x);
    const reduced = await predict(await compress(file, (r, c) => Math.min(r, c)), x);
    assert.ok(maxDiff([...reduced], [...original]) <= 1e-4, `${file}: ${maxDiff([...reduced], [...original])}`);
    const low = await predict(await compress(file, () => 3), x);
    assert.ok(maxDiff([...low], [...original]) > 1e-2, `${file}: rank 3 must change the outputs`);
  }
});

test('`reducible evaluate` runs Keras files in TF.js: its output error is the numpy forward pass\'s', () => {
  const inputs = join(tempDir(), 'x.npy');
  writeFileSync(inputs, encodeNpy({ dtype: 'float32', shape: [32, 64], data: randomMatrix(32, 64, 3) }));
  for (const file of ['mlp.h5', 'branches.h5', 'mlp.keras']) {
    const out = join(tempDir(), file.replace(/\.(h5|keras)$/, '.reduced.$1'));
    assert.equal(cli('compress', join(dir, file), '--ratio', '0.5', '--engine', 'embedded', '-o', out).code, 0);
    const r = cli('evaluate', join(dir, file), out, '--inputs', inputs, '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    const a = forward(join(dir, file), {}, inputs).y, b = forward(out, {}, inputs).y;
    const expected = Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / a.reduce((s, v) => s + v * v, 0));
    assert.equal(report.samples, 32);
    assert.ok(expected > 1e-3, `${file}: compression changes the outputs (${expected})`);
    assert.ok(Math.abs(report.relativeOutputError - expected) <= 1e-4 * expected + 1e-6, `${file}: TF.js ${report.relativeOutputError}, numpy ${expected}`);
  }
  assertRefusedWith(cli('evaluate', join(dir, 'functional.keras'), join(dir, 'functional.keras')), join(dir, 'functional.keras'), /TF\.js cannot build this model/);
});

for (const file of ['functional.h5', 'functional.keras']) {
  test(`${file}: --dtype f16 stores the factors as float16 datasets that h5py reads`, async () => {
    const k = 6;
    const f32 = await compress(file, () => k);
    const f16 = await compress(file, () => k, { dtype: 'f16' });
    const dtypes = JSON.parse(python(`${H5PY_OPEN}
config, f = open_model(sys.argv[1])
out = {}
f.visititems(lambda n, o: out.__setitem__(n, [str(o.dtype), list(o.shape)]) if isinstance(o, h5py.Dataset) else None)
print(json.dumps(out))
`, undefined, [f16]).toString()) as Record<string, [string, number[]]>;
    const factors = Object.entries(dtypes).filter(([n]) => /_(u|v)\//.test(n) && !/bias/.test(n) && !n.endsWith('/1'));
    assert.equal(factors.length, 10, JSON.stringify(dtypes));
    for (const [n, [dtype]] of factors) assert.equal(dtype, 'float16', n);
    const biases = Object.entries(dtypes).filter(([n]) => /_v\//.test(n) && (/bias/.test(n) || n.endsWith('/1')));
    for (const [n, [dtype]] of biases) assert.equal(dtype, 'float32', `${n} keeps its stored precision`);
    const reference = forward(join(dir, file), Object.fromEntries(MLP_LAYERS.functional.map((n) => [n, k])));
    const half = forward(f16).y, full = forward(f32).y;
    const scale = Math.max(...reference.y.map(Math.abs));
    assert.ok(maxDiff(full, reference.y) <= 1e-4 * scale, 'f32 factors');
    // float16 keeps 11 significant bits: outputs agree to ~1e-3 of their scale, not better.
    assert.ok(maxDiff(half, reference.y) <= 5e-3 * scale, `f16 factors: ${maxDiff(half, reference.y)}`);
    assert.ok(maxDiff(half, reference.y) > maxDiff(full, reference.y), 'f16 rounding is visible');
    const factorBytes = factors.reduce((sum, [, [, shape]]) => sum + shape.reduce((a, b) => a * b, 1), 0) * 2;
    const saved = readFileSync(f32).length - readFileSync(f16).length;
    const reread = await openModel(f16);
    try {
      const u = reread.layers.find((l) => l.name === 'dense_a_u')!;
      assert.equal(u.dtype, 'float16');
      assert.equal((await reread.readMatrix(u)).length, 64 * k);
    } finally {
      await reread.close();
    }
    // libhdf5 hands out space for small datasets in 2 KiB blocks, hence the slack.
    assert.ok(Math.abs(saved - factorBytes) <= 2048, `f16 saves the factors' 2 bytes per value: ${saved} vs ${factorBytes}`);
  });
}

test('a bias replaced by fine-tuning is written to L_v in its stored precision', async () => {
  for (const file of ['mlp.h5', 'mlp.keras']) {
    const out = await compress(file, () => 4, { layers: ['dense_1'], adjust: (f) => { f.bias = Float32Array.from({ length: 32 }, (_, i) => i / 4); } });
    const bias = JSON.parse(python(`${H5PY_OPEN}
config, f = open_model(sys.argv[1])
d = f['model_weights/dense_1_v/dense_1_v/bias:0'] if 'model_weights' in f else f['layers/dense_1_v/vars/1']
print(json.dumps([str(d.dtype), d[()].tolist()]))
`, undefined, [out]).toString());
    assert.deepEqual(bias, ['float32', Array.from({ length: 32 }, (_, i) => i / 4)], file);
  }
});

for (const [file, dtype] of [['wide.h5', 'f32'], ['wide.keras', 'f32'], ['wide.h5', 'f16'], ['wide.keras', 'f16']]) {
  test(`${file} through \`reducible compress --dtype ${dtype}\`: the bytes written are what the parameters predict`, () => {
    const out = join(tempDir(), file.replace('wide', 'wide.reduced'));
    const r = cli('compress', join(dir, file), '--ratio', '0.4', '--dtype', dtype, '--engine', 'embedded', '-o', out);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(`${out}.report.json`, 'utf8'));
    assert.equal(report.compressedBytes, readFileSync(out).length);
    assert.ok(report.compressedBytes <= 1.02 * report.predictedBytes + 4096, `${report.compressedBytes} bytes written, ${report.predictedBytes} predicted`);
    assert.ok(report.layers.length >= 2);
    const names = forward(out).layers;
    for (const l of report.layers) assert.ok(names.includes(`${l.name}_u`) && names.includes(`${l.name}_v`), `${l.name} in ${names}`);
  });
}

test('a factorised layer whose pair name is taken is refused, not silently renamed', async () => {
  await assert.rejects(compress('clash.h5', () => 4, { layers: ['dense'] }), (e: Error) => e instanceof InputError && /already has a layer named dense_u/.test(e.message));
});

test('--dtype int8 is refused for Keras files with one clear line', async () => {
  await assert.rejects(compress('mlp.h5', () => 4, { dtype: 'int8' }), (e: Error) => e instanceof InputError && /--dtype int8 is not available for Keras files/.test(e.message) && !e.message.includes('\n'));
});

function assertRefused(file: string, pattern: RegExp): void {
  assertRefusedWith(cli('analyze', file), file, pattern);
}

function assertRefusedWith(r: CliResult, file: string, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit code for ${file}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.ok(lines[0].includes(file), `names the file: ${lines[0]}`);
  assert.match(lines[0], pattern);
}

test('hostile and broken Keras files: one-line refusals naming the file', () => {
  const bad = tempDir();
  const put = (name: string, bytes: Uint8Array | string): string => { const p = join(bad, name); writeFileSync(p, bytes); return p; };
  const h5 = readFileSync(join(dir, 'mlp.h5'));
  assertRefused(put('truncated.h5', h5.subarray(0, h5.length >> 1)), /not a readable HDF5 file \(truncated file: eof = \d+/);
  assertRefused(put('junk.h5', 'this is not HDF5'), /not a readable HDF5 file \(file signature not found\)/);
  assertRefused(join(dir, 'weights-only.h5'), /no model_config attribute/);
  assertRefused(join(dir, 'bad-config.h5'), /model_config is not valid JSON/);
  assertRefused(join(dir, 'no-weights.h5'), /no model_weights group/);
  assertRefused(join(dir, 'huge-kernel.h5'), /kernel:0 \(8796093022208 bytes\) is too large/);

  const weights = readFileSync(join(dir, 'mlp.keras'));
  const config = new TextEncoder().encode('{"class_name": "Sequential", "config": {"layers": []}}');
  const h5Entry = new Uint8Array(readFileSync(join(dir, 'mlp.h5')));
  assertRefused(put('escape.keras', zipSync({ 'config.json': config, 'model.weights.h5': h5Entry, '../../evil.sh': new Uint8Array([1]) })), /entry name "\.\.\/\.\.\/evil\.sh" escapes the archive/);
  assertRefused(put('absolute.keras', zipSync({ 'config.json': config, '/etc/passwd': new Uint8Array([1]) })), /escapes the archive/);
  assertRefused(put('noconfig.keras', zipSync({ 'model.weights.h5': h5Entry })), /no config\.json/);
  assertRefused(put('badconfig.keras', zipSync({ 'config.json': new TextEncoder().encode('{{'), 'model.weights.h5': h5Entry })), /config\.json is not valid JSON/);
  assertRefused(put('truncated.keras', weights.subarray(0, weights.length - 200)), /zip: no end-of-central-directory record \(truncated or not a zip\)/);
  assertRefused(put('badweights.keras', zipSync({ 'config.json': config, 'model.weights.h5': new Uint8Array(100) })), /model\.weights\.h5: not a readable HDF5 file/);

  // A 4 GB declared size in both the local header and the central directory of a real archive.
  const huge = new Uint8Array(zipSync({ 'config.json': config, 'model.weights.h5': h5Entry }, { level: 0 }));
  const dv = new DataView(huge.buffer);
  for (let i = 0; i + 4 <= huge.length; i++) {
    const sig = dv.getUint32(i, true);
    if (sig === 0x04034b50) dv.setUint32(i + 22, 0xfffffff0, true);
    if (sig === 0x02014b50) dv.setUint32(i + 24, 0xfffffff0, true);
  }
  assertRefused(put('huge.keras', huge), /declares 4294967280 bytes/);
});
