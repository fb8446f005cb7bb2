// predictedBytes (report.ts's predictBytes, the panel's size bar) against the bytes the CLI
// writes, for the bundled examples and a fixture of every other format (the regression
// harness's fixtures: examples/ holds TF.js layers and ONNX models only), at two ratios. The
// prediction counts each format's bytes besides the tensors (FormatModule.outputOverhead):
// before, it counted parameters only and Basic Pitch's 180 kB model.json came on top.
//
// Tolerances, from what each writer does:
// - TF.js (the model JSON re-serialised), ONNX (the graph spliced), safetensors and PyTorch (a
//   header written again): the overhead is the original's, or computed as the writer lays it
//   out, plus a per-layer constant that depends only on name lengths: within 256 B and 1 %
//   (observed: at most 110 B, on mlp.onnx, whose short names are below the constant's average).
// - Keras (.h5, and the HDF5 inside .keras): h5wasm allocates metadata in blocks, so the
//   structure's bytes move in kilobyte steps with the layers added (keras/format.ts): within
//   6 KiB, the width of those steps (observed: −1.7 to +4.6 kB).
// Every case also meets the design's bar, written ≤ 1.02 × predicted + 4 KiB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { CompressReport } from '../../core/compress/report.js';
import { buildFixtures } from '../regression/harness.js';
import { cli, tempDir } from '../helpers/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RATIOS = ['0.4', '0.8'];

test('predicted bytes are the bytes written, every format, two ratios', async () => {
  const f = await buildFixtures(ROOT, tempDir());
  const models: [string, string, 'exact' | 'hdf5'][] = [
    [join(ROOT, 'examples/digits/model.json'), 'out.json', 'exact'],
    [join(ROOT, 'examples/fashion-cnn/model.json'), 'out.json', 'exact'],
    [join(ROOT, 'examples/fashion-cnn/model.onnx'), 'out.onnx', 'exact'],
    [f['graph-mlp'], 'out.json', 'exact'],
    [f['mlp.onnx'], 'out.onnx', 'exact'],
    [f['cnn.onnx'], 'out.onnx', 'exact'],
    [f['mlp-float32.safetensors'], 'out.safetensors', 'exact'],
    [f['sharded'], 'out.safetensors.index.json', 'exact'],
    [f['mlp.pt'], 'out.safetensors', 'exact'],
    [f['cnn.pth'], 'out.safetensors', 'exact'],
    [f['mlp.h5'], 'out.h5', 'hdf5'],
    [f['mlp.keras'], 'out.keras', 'hdf5'],
    [join(f['mlp.h5'], '..', 'functional.h5'), 'out.h5', 'hdf5'],
    [join(f['mlp.h5'], '..', 'convnet.h5'), 'out.h5', 'hdf5'],
    [join(f['mlp.h5'], '..', 'zoo.keras'), 'out.keras', 'hdf5'],
  ];
  const rows: string[] = [];
  for (const [model, out, kind] of models) {
    for (const ratio of RATIOS) {
      const r = cli('compress', model, '--ratio', ratio, '--allow-deep-cuts', '--engine', 'embedded', '-o', join(tempDir(), out), '--json');
      assert.equal(r.code, 0, `${model}: ${r.stderr}`);
      const { compressedBytes: written, predictedBytes: predicted, layers } = JSON.parse(r.stdout) as CompressReport;
      const diff = written - predicted;
      const row = `${model.split('/').slice(-2).join('/')} at ${ratio}: ${written} written, ${predicted} predicted (${diff}; ${layers.length} layers factorised)`;
      rows.push(row);
      assert.ok(layers.length > 0, row);
      const tolerance = kind === 'exact' ? 256 + 0.01 * written : 6 * 1024;
      assert.ok(Math.abs(diff) <= tolerance, row);
      assert.ok(written <= 1.02 * predicted + 4096, row);
    }
  }
  console.log(rows.join('\n'));
});
