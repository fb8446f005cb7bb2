// The .vsix files as users get them (scripts/package.mjs). The universal build carries no
// onnxruntime, and running an ONNX model from it says so in one line naming the file; the
// linux-x64 build carries onnxruntime-node with that platform's binary only, and the CLI
// bundled in it runs an ONNX model with it. Both are unpacked and run from a folder of their own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { unzipSync } from 'fflate';
import { encodeNpy } from '../../core/io/npy.js';
import { tempDir } from '../helpers/cli.js';
import { randomMatrix } from '../helpers/random.js';

const root = resolve(import.meta.dirname, '../..');
const MODEL = join(root, 'examples/fashion-cnn/model.onnx');

/** Packages (dist/ as built, never rebuilt) and unpacks; returns the entry names and the unpacked folder. */
function packaged(target?: string): { entries: string[]; dir: string } {
  const dir = tempDir(), vsix = join(dir, 'reducible.vsix');
  const r = spawnSync(process.execPath, [join(root, 'scripts/package.mjs'), '--no-build', '-o', vsix, ...(target ? ['--target', target] : [])], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const files = unzipSync(readFileSync(vsix));
  for (const [name, bytes] of Object.entries(files)) {
    if (name.endsWith('/')) continue;
    mkdirSync(dirname(join(dir, 'x', name)), { recursive: true });
    writeFileSync(join(dir, 'x', name), bytes);
  }
  return { entries: Object.keys(files), dir: join(dir, 'x', 'extension') };
}

function evaluateWith(extension: string): ReturnType<typeof spawnSync> {
  const inputs = join(tempDir(), 'x.npy');
  writeFileSync(inputs, encodeNpy({ dtype: 'float32', shape: [8, 784], data: randomMatrix(8, 784, 1).map((v) => Math.abs(v) * 100) }));
  return spawnSync(process.execPath, [join(extension, 'dist/cli.js'), 'evaluate', MODEL, MODEL, '--inputs', inputs, '--json'], { encoding: 'utf8' });
}

test('universal .vsix: no onnxruntime inside; an ONNX model run from it is refused in one line naming the file', () => {
  const { entries, dir } = packaged();
  assert.deepEqual(entries.filter((e) => e.includes('onnxruntime')), []);
  const r = evaluateWith(dir);
  assert.equal(r.status, 2, String(r.stderr));
  assert.match(String(r.stderr).trim(), /^reducible: [^\n]*model\.onnx: running ONNX models needs onnxruntime-node, which is not installed here \([^\n]*\); use the platform build of the extension, or npm install onnxruntime-node beside the CLI$/);
});

test('linux-x64 .vsix: onnxruntime-node with the linux-x64 binary only, and the bundled CLI runs an ONNX model with it', { skip: process.platform !== 'linux' || process.arch !== 'x64' ? 'needs linux-x64 to run the binary' : false }, () => {
  const { entries, dir } = packaged('linux-x64');
  const binaries = entries.filter((e) => e.includes('onnxruntime-node/bin/'));
  assert.ok(binaries.includes('extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node'), binaries.join('\n'));
  assert.deepEqual(binaries.filter((e) => !e.includes('/linux/x64/')), []);
  const r = evaluateWith(dir);
  assert.equal(r.status, 0, String(r.stderr));
  const report = JSON.parse(String(r.stdout)) as { samples: number; top1Agreement: number; relativeOutputError: number };
  assert.deepEqual([report.samples, report.top1Agreement, report.relativeOutputError], [8, 1, 0]);
});
