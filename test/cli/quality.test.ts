// Data-aware compression on the bundled example: whitening and label-free fine-tuning must
// beat plain SVD where it matters, and their outputs must load in stock tfjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { better, type Fidelity } from '../../core/compress/fidelity.js';
import { cli, tempDir } from '../helpers/cli.js';

const EX = 'examples/fashion-mnist';
const dir = tempDir();

function accuracy(out: string): number {
  const r = cli('evaluate', `${EX}/model.json`, out, '--inputs', `${EX}/test.npz:x`, '--labels', `${EX}/test.npz:y`, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).compressed.accuracy;
}

function compressAt(ratio: string, name: string, ...args: string[]): { out: string; report: Record<string, unknown>; progress: number[] } {
  const out = join(dir, `${name}.json`);
  const r = cli('compress', `${EX}/model.json`, '--ratio', ratio, '-o', out, '--json', ...args);
  assert.equal(r.code, 0, r.stderr);
  const progress = r.stderr.split('\n').filter((l) => l.startsWith('{"progress"')).map((l) => (JSON.parse(l) as { progress: number }).progress);
  return { out, report: JSON.parse(r.stdout), progress };
}

const compress = (name: string, ...args: string[]): ReturnType<typeof compressAt> => compressAt('0.1', name, ...args);

test('whitened SVD beats plain SVD at 10 % of params; fine-tuning improves held-out fidelity', () => {
  // Plain SVD at 10 % cuts layers deeply: refused unless asked for (deepCuts.test.ts).
  const plain = accuracy(compress('plain', '--allow-deep-cuts').out);
  const whitened = accuracy(compress('whitened', '--method', 'whitened', '--calibration', `${EX}/calib.npz:x`).out);
  assert.ok(whitened > plain, `whitened ${whitened} vs plain ${plain}`);
  const tuned = compress('tuned', '--method', 'whitened', '--calibration', `${EX}/calib.npz:x`, '--finetune', '150');
  const ft = tuned.report.finetune as { before: { relativeOutputError: number }; after: { relativeOutputError: number } };
  assert.ok(ft.after.relativeOutputError < ft.before.relativeOutputError, JSON.stringify(ft));
  assert.ok(accuracy(tuned.out) > whitened, 'fine-tuned accuracy above whitened alone');
});

test('--method whitened writes whichever of whitened and plain SVD factors agrees better with the original on held-out inputs', () => {
  const plain = compressAt('0.5', 'guard-plain').report as { layers: { name: string; rank: number }[] };
  const job = compressAt('0.5', 'guard', '--method', 'whitened', '--calibration', `${EX}/calib.npz:x`);
  // Both candidates' analyses and factorisations report into one progress that never goes back.
  assert.ok(job.progress.length > 10 && job.progress.every((p, i) => i === 0 || p >= job.progress[i - 1]), job.progress.join(' '));
  assert.equal(job.progress.at(-1), 1);
  const r = job.report as {
    layers: { name: string; rank: number }[]; allocation: string;
    methodChoice: { kept: string; whitened: Fidelity; svd: Fidelity };
  };
  const { kept, whitened, svd } = r.methodChoice;
  assert.equal(whitened.samples, 500, 'the last 10 % of the 5 000 calibration inputs');
  assert.equal(kept, better(svd, whitened, true) ? 'svd' : 'whitened', JSON.stringify(r.methodChoice));
  if (kept === 'svd') {
    assert.deepEqual(r.layers.map((l) => [l.name, l.rank]), plain.layers.map((l) => [l.name, l.rank]));
    assert.equal(r.allocation, 'spectrum');
  }
});

test('fine-tuning is reproducible (seeded)', () => {
  const a = compress('ft-a', '--calibration', `${EX}/calib.npz:x`, '--finetune', '40').report;
  const b = compress('ft-b', '--calibration', `${EX}/calib.npz:x`, '--finetune', '40').report;
  assert.deepEqual(a.finetune, b.finetune);
});

test('data-aware options are refused clearly where they cannot apply', () => {
  const r = cli('compress', `${EX}/model.json`, '--ratio', '0.5', '--method', 'whitened');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /needs --calibration/);
  const bad = cli('compress', `${EX}/model.json`, '--ratio', '0.5', '--method', 'fancy');
  assert.equal(bad.code, 2);
  const alloc = cli('compress', `${EX}/model.json`, '--ratio', '0.5', '--allocation', 'sensitivity');
  assert.equal(alloc.code, 2);
  assert.match(alloc.stderr, /sensitivity allocation needs --calibration/);
  const badAlloc = cli('compress', `${EX}/model.json`, '--ratio', '0.5', '--allocation', 'vibes');
  assert.equal(badAlloc.code, 2);
});
