// Hostile values rather than hostile structure (issue 20, items 4 and 7), through the built CLI
// and the language server: non-finite quantization parameters and non-finite weights in every
// position a layer's matrix is read from, and models with nothing to factorise. Every refusal
// is exit 2, one stderr line naming the input (and the tensor), within 10 s, with nothing
// written beside the model and the model's bytes unchanged.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelSummary } from '../../shared/protocol.js';
import { modelsRequest } from '../../shared/protocol.js';
import { encodeNpy } from '../../core/io/npy.js';
import { tempDir } from '../helpers/cli.js';
import { python } from '../helpers/python.js';
import { fileUri, LspSession } from '../lsp/lspClient.js';

const LIMIT_MS = 10_000;

/** A seeded, well-conditioned weight (nothing here depends on its spectrum). */
function weights(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out[i] = s / 2 ** 30 - 1;
  }
  return out;
}

const bytes = (a: Float32Array | Uint8Array | Uint16Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * A TF.js layers model: Dense 8→units (kernel `dense/kernel`) then Dense units→4, in one shard.
 * `kernel` is the manifest entry's extra fields (e.g. a quantization) and `raw` its bytes;
 * `scale`/`min`, when given, are written into the JSON text as they stand (`1e999`); `rest`
 * replaces the values after the kernel (dense/bias, dense_1/kernel, dense_1/bias).
 */
function tfjsLayers(dir: string, name: string, o: { units?: number; kernel?: Record<string, unknown>; raw?: Uint8Array; scale?: string; min?: string; rest?: Float32Array } = {}): string {
  const units = o.units ?? 6;
  const layer = (n: string, u: number, input?: number): unknown => ({
    class_name: 'Dense', config: { name: n, units: u, activation: 'linear', use_bias: true, ...(input ? { batch_input_shape: [null, input] } : {}) },
  });
  const topology = {
    class_name: 'Sequential', config: { name: 'seq', layers: [layer('dense', units, 8), layer('dense_1', 4)] },
    keras_version: 'tfjs-layers 4.0.0', backend: 'tensor_flow.js',
  };
  const kernel = { name: 'dense/kernel', shape: [8, units], dtype: 'float32', ...o.kernel };
  const rest = [
    { name: 'dense/bias', shape: [units], dtype: 'float32' },
    { name: 'dense_1/kernel', shape: [units, 4], dtype: 'float32' },
    { name: 'dense_1/bias', shape: [4], dtype: 'float32' },
  ];
  const json = { format: 'layers-model', generatedBy: 'test', convertedBy: 'test', modelTopology: topology, weightsManifest: [{ paths: [`${name}.bin`], weights: [kernel, ...rest] }] };
  const text = JSON.stringify(json).replace('"@SCALE@"', o.scale ?? '1').replace('"@MIN@"', o.min ?? '0');
  const raw = o.raw ?? bytes(weights(8 * units, 1));
  const bin = new Uint8Array(raw.length + 4 * (units + units * 4 + 4));
  bin.set(raw);
  bin.set(bytes(o.rest ?? weights(units + units * 4 + 4, 2)), raw.length);
  writeFileSync(join(dir, `${name}.bin`), bin);
  writeFileSync(join(dir, `${name}.json`), text);
  return join(dir, `${name}.json`);
}

/** A safetensors file of the given tensors (row-major, little-endian). */
function safetensors(path: string, tensors: { name: string; dtype: 'F32' | 'F16'; shape: number[]; data: Uint8Array }[]): string {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] };
    at += t.data.length;
  }
  let h = new TextEncoder().encode(JSON.stringify(header));
  h = new TextEncoder().encode(JSON.stringify(header).padEnd(Math.ceil(h.length / 8) * 8, ' '));
  const out = new Uint8Array(8 + h.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  let o = 8 + h.length;
  for (const t of tensors) { out.set(t.data, o); o += t.data.length; }
  writeFileSync(path, out);
  return path;
}

/** ONNX models of one MatMul each, written by Debian's onnx: NaN/Inf weights, NaN biases (a Gemm's C, the Add after a MatMul), and nothing to factorise. */
function onnxModels(dir: string): void {
  python(`import sys, numpy as np, onnx
from onnx import TensorProto, helper, numpy_helper
out = sys.argv[1]
def save(w, name, rows, nodes=None, inits=()):
    nodes = nodes or [helper.make_node("MatMul", ["x", w.name], ["y"], name="fc")]
    g = helper.make_graph(nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", rows])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w, *inits])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), f"{out}/{name}.onnx")
w = np.random.default_rng(0).standard_normal((8, 6)).astype(np.float32)
bias = np.linspace(-1, 1, 6).astype(np.float32); bias[4] = np.nan
save(numpy_helper.from_array(w, "fc_w"), "gemm-bias-nan", 8, [helper.make_node("Gemm", ["x", "fc_w", "fc_c"], ["y"], name="fc")], [numpy_helper.from_array(bias, "fc_c")])
# A NaN in a tensor of no layer (a Mul's scale between two MatMuls): only running the model meets it.
scale = np.ones(6, np.float32); scale[3] = np.nan
save(numpy_helper.from_array(w, "fc_w"), "scale-nan", 8, [helper.make_node("MatMul", ["x", "fc_w"], ["h"], name="fc"), helper.make_node("Mul", ["h", "S"], ["m"]),
    helper.make_node("MatMul", ["m", "fc2_w"], ["y"], name="fc2")], [numpy_helper.from_array(scale, "S"), numpy_helper.from_array(w[:6, :4].copy(), "fc2_w")])
save(numpy_helper.from_array(w, "fc_w"), "add-bias-nan", 8, [helper.make_node("MatMul", ["x", "fc_w"], ["h"], name="fc"), helper.make_node("Add", ["h", "fc_b"], ["y"])], [numpy_helper.from_array(bias, "fc_b")])
nan = w.copy(); nan[3, 2] = np.nan
save(numpy_helper.from_array(nan, "fc_nan_weight"), "nan", 8)
inf = w.astype(np.float16); inf[5, 1] = -np.inf
save(numpy_helper.from_array(inf, "fc_inf_weight"), "inf16", 8)
save(numpy_helper.from_array(np.zeros((0, 4), np.float32), "W"), "zero-dims", 0)
t = onnx.TensorProto(); t.name = "W"; t.data_type = 99; t.dims.extend([4, 4]); t.raw_data = bytes(64)
save(t, "unknown-type", 4)
save(helper.make_tensor("W", TensorProto.STRING, [2, 2], [b"a", b"b", b"c", b"d"]), "strings", 2)
`, undefined, [dir]);
}

interface Refused { file: string; tensor?: string; pattern: RegExp }

const hash = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

function run(args: string[]): { code: number | null; stdout: string; stderr: string; ms: number; error?: Error } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', timeout: LIMIT_MS });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0, error: r.error };
}

/** `args` on `c.file` exits 2 within the limit with one line naming the file (and tensor); nothing appears in its folder. */
function assertRefused(c: Refused, args: string[]): void {
  const dir = join(c.file, '..');
  const listed = readdirSync(dir).sort();
  const before = hash(c.file);
  const r = run(args);
  assert.equal(r.error, undefined, `${args.join(' ')}: ${r.error} after ${r.ms.toFixed(0)} ms`);
  assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0].includes(c.file), `names the file: ${lines[0]}`);
  if (c.tensor) assert.ok(lines[0].includes(c.tensor), `names the tensor ${c.tensor}: ${lines[0]}`);
  assert.match(lines[0], c.pattern);
  assert.doesNotMatch(lines[0], /did not converge|NaN %/);
  assert.ok(r.ms < LIMIT_MS, `${r.ms.toFixed(0)} ms`);
  assert.deepEqual(readdirSync(dir).sort(), listed, 'nothing written beside the model');
  assert.equal(hash(c.file), before, 'the model is unchanged');
}

describe('non-finite values and models with nothing to factorise', () => {
  const root = tempDir('reducible-hostile-values-');
  /** Each case in a folder of its own, so "nothing written" is about that case alone. */
  const folder = (name: string): string => { const d = join(root, name); mkdirSync(d); return d; };
  const nonFinite: Refused[] = [];
  const nothing: string[] = [];
  /** Models with a NaN only a job that runs the model computes with, and the calibration inputs it runs on. */
  const runNaN: (Refused & { calibration: string })[] = [];
  const calibration = (dir: string): string => {
    const path = join(dir, 'x.npy');
    writeFileSync(path, encodeNpy({ dtype: 'float32', shape: [32, 8], data: weights(32 * 8, 9) }));
    return path;
  };
  const finite = /weights must be finite|must be a finite number/;

  before(() => {
    // TF.js quantization parameters JSON reads as ±Infinity.
    const q8 = new Uint8Array(48).map((_, i) => (i * 37) % 256);
    const quantized = { dtype: 'float32', quantization: { dtype: 'uint8', scale: '@SCALE@', min: '@MIN@' } };
    nonFinite.push({ file: tfjsLayers(folder('scale-inf'), 'model', { kernel: quantized, raw: q8, scale: '1e999' }), tensor: 'dense/kernel', pattern: /quantization scale must be a finite number, got Infinity/ });
    nonFinite.push({ file: tfjsLayers(folder('min-inf'), 'model', { kernel: quantized, raw: q8, min: '-1e999' }), tensor: 'dense/kernel', pattern: /quantization min must be a finite number, got -Infinity/ });
    // A finite scale whose dequantized values overflow float32: caught as the matrix is read.
    nonFinite.push({ file: tfjsLayers(folder('scale-overflow'), 'model', { kernel: quantized, raw: q8, scale: '1e300' }), tensor: 'dense/kernel', pattern: finite });
    // NaN and Infinity stored as they are, in TF.js float32 and float16 (quantization float16).
    const nan = weights(48, 3); nan[17] = NaN;
    nonFinite.push({ file: tfjsLayers(folder('tfjs-nan'), 'model', { raw: bytes(nan) }), tensor: 'dense/kernel', pattern: /holds NaN at element 17/ });
    // A finite kernel whose bias holds NaN (the first of the values after the kernel is dense/bias).
    const restNan = weights(6 + 6 * 4 + 4, 2); restNan[1] = NaN;
    nonFinite.push({ file: tfjsLayers(folder('tfjs-bias-nan'), 'model', { rest: restNan }), tensor: 'dense/bias', pattern: /tensor dense\/bias \(layer dense\) holds NaN at element 1/ });
    const half = new Uint16Array(48).fill(0x3c00); half[5] = 0x7c00;
    nonFinite.push({ file: tfjsLayers(folder('tfjs-f16-inf'), 'model', { kernel: { quantization: { dtype: 'float16' } }, raw: bytes(half) }), tensor: 'dense/kernel', pattern: /holds Infinity at element 5/ });
    // safetensors: a Linear's weight with +Infinity, and an F16 one with NaN.
    const inf = weights(48, 4); inf[0] = Infinity;
    nonFinite.push({ file: safetensors(join(folder('st-inf'), 'model.safetensors'), [{ name: 'fc.weight', dtype: 'F32', shape: [6, 8], data: bytes(inf) }]), tensor: 'fc.weight', pattern: /holds Infinity at element 0/ });
    const halfNan = new Uint16Array(48).fill(0x3c00); halfNan[47] = 0x7e00;
    nonFinite.push({ file: safetensors(join(folder('st-f16-nan'), 'model.safetensors'), [{ name: 'fc.weight', dtype: 'F16', shape: [6, 8], data: bytes(halfNan) }]), tensor: 'fc.weight', pattern: /holds NaN at element 47/ });
    // A finite weight whose bias holds NaN: the bias is the layer's too.
    const biasNan = weights(6, 7); biasNan[2] = NaN;
    nonFinite.push({ file: safetensors(join(folder('st-bias-nan'), 'model.safetensors'), [{ name: 'fc.weight', dtype: 'F32', shape: [6, 8], data: bytes(weights(48, 8)) }, { name: 'fc.bias', dtype: 'F32', shape: [6], data: bytes(biasNan) }]), tensor: 'fc.bias', pattern: /tensor fc\.bias \(layer fc\) holds NaN at element 2/ });
    // ONNX: NaN in float32, -Infinity in float16.
    const onnxDir = folder('onnx');
    onnxModels(onnxDir);
    for (const name of ['zero-dims', 'unknown-type', 'strings']) {
      const d = folder(`onnx-${name}`);
      writeFileSync(join(d, `${name}.onnx`), readFileSync(join(onnxDir, `${name}.onnx`)));
      nothing.push(join(d, `${name}.onnx`));
    }
    for (const [name, tensor, pattern] of [['nan', 'fc_nan_weight', /holds NaN/], ['inf16', 'fc_inf_weight', /holds -Infinity/],
      ['gemm-bias-nan', 'fc_c', /tensor fc_c \(layer fc\) holds NaN at element 4/], ['add-bias-nan', 'fc_b', /tensor fc_b \(layer fc\) holds NaN at element 4/]] as const) {
      const d = folder(`onnx-${name}`);
      writeFileSync(join(d, `${name}.onnx`), readFileSync(join(onnxDir, `${name}.onnx`)));
      nonFinite.push({ file: join(d, `${name}.onnx`), tensor, pattern });
    }
    const scaleDir = folder('onnx-scale-nan');
    writeFileSync(join(scaleDir, 'scale-nan.onnx'), readFileSync(join(onnxDir, 'scale-nan.onnx')));
    runNaN.push({ file: join(scaleDir, 'scale-nan.onnx'), tensor: 'S', pattern: /tensor S holds NaN at element 3/, calibration: calibration(scaleDir) });
    const tfjsBias = nonFinite.find((c) => c.file.includes('tfjs-bias-nan'))!;
    runNaN.push({ ...tfjsBias, calibration: calibration(join(tfjsBias.file, '..')) });
    // Nothing to factorise in other formats too: only 1-D tensors; only layers too small to gain (8×1, 1×4).
    nothing.push(safetensors(join(folder('st-nothing'), 'model.safetensors'), [{ name: 'norm.weight', dtype: 'F32', shape: [8], data: bytes(weights(8, 5)) }]));
    nothing.push(tfjsLayers(folder('tfjs-tiny'), 'model', { units: 1, raw: bytes(weights(8, 6)) }));
  });

  test('non-finite quantization parameters and weights: analyze and compress exit 2 naming the file and the tensor', () => {
    for (const c of nonFinite) {
      assertRefused(c, ['analyze', c.file]);
      assertRefused(c, ['compress', c.file, '--ratio', '0.5']);
      // Re-layout reads the stored matrices its own way (ONNX only).
      if (c.file.endsWith('.onnx')) assertRefused(c, ['compress', c.file, '--energy', '0.9', '--method', 'relayout']);
    }
  });

  test('a NaN in a tensor a data-aware job computes with (a scale no layer owns, a bias): whitened and fine-tuned compress exit 2 naming the file and the tensor', () => {
    for (const c of runNaN) {
      assertRefused(c, ['compress', c.file, '--ratio', '0.5', '--method', 'whitened', '--calibration', c.calibration]);
      assertRefused(c, ['compress', c.file, '--ratio', '0.5', '--finetune', '3', '--calibration', c.calibration]);
    }
  });

  test('a model with no layer to factorise: compress refuses it the same way in every format; analyze reports it without NaN', () => {
    for (const file of nothing) {
      for (const goal of [['--ratio', '0.5'], ['--energy', '0.9'], ['--ratio', '1']]) {
        assertRefused({ file, pattern: /nothing to compress: no layer can be factorised/ }, ['compress', file, ...goal]);
      }
      const a = run(['analyze', file]);
      assert.equal(a.code, 0, `${file}: ${a.stderr}`);
      assert.doesNotMatch(a.stdout, /NaN|Infinity/, a.stdout);
      const j = run(['analyze', '--json', file]);
      assert.equal(j.code, 0, `${file}: ${j.stderr}`);
      assert.doesNotMatch(j.stdout, /NaN|Infinity|null/, j.stdout);
    }
  });

  describe('the language server', () => {
    let lsp: LspSession;
    after(async () => { await lsp?.stop(); });

    test('marks a model with a quantization scale of Infinity, and one with a NaN weight, with the one-line refusal naming the tensor', async () => {
      const ws = tempDir('reducible-hostile-values-ws-');
      const file = tfjsLayers(ws, 'model', { kernel: { dtype: 'float32', quantization: { dtype: 'uint8', scale: '@SCALE@' } }, raw: new Uint8Array(48).fill(3), scale: '1e999' });
      const nan = weights(48, 7); nan[9] = NaN;
      const nanFile = safetensors(join(ws, 'nan.safetensors'), [{ name: 'fc.weight', dtype: 'F32', shape: [6, 8], data: bytes(nan) }]);
      lsp = await LspSession.start(ws, {});
      const settled = async (path: string): Promise<ModelSummary> => {
        for (;;) {
          const e = (await lsp.connection.sendRequest(modelsRequest, undefined)).find((m) => m.uri === fileUri(path));
          if (e && (e.state === 'error' || e.state === 'ready')) return e;
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      for (const [path, pattern] of [[file, /dense\/kernel: quantization scale must be a finite number, got Infinity/], [nanFile, /tensor fc\.weight .*holds NaN at element 9/]] as const) {
        const e = await settled(path);
        assert.equal(e.state, 'error', `${path}: ${e.state}`);
        assert.match(e.message!, pattern);
        assert.ok(e.message!.includes(path) && !e.message!.includes('\n'), e.message!);
        const d = await lsp.until(() => lsp.diagnostics.get(fileUri(path))?.[0]);
        const text = typeof d.message === 'string' ? d.message : d.message.value;
        assert.match(text, pattern);
        assert.doesNotMatch(text, /did not converge/);
      }
    });
  });
});
