// Is a gap in test accuracy between `--method whitened` and `--method svd` more than noise?
// Both are compressed at the same --ratio, run on the same test images in stock tfjs, and the
// exact McNemar test counts the images one gets right and the other wrong (the only ones that
// tell the two apart). Usage: npx tsx bench/quality/pairedTest.ts (the points where the quality
// bench finds whitened below plain without fine-tuning).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressFile } from '../../core/compress/job.js';
import { createEngine } from '../../core/engines/select.js';
import { inputsFromFile } from '../../core/eval/evaluate.js';
import { loadTfjsLayersModel, tfjs } from '../../core/formats/tfjs/runtime.js';

const FASHION = 'examples/fashion-mnist';
const POINTS: { model: string; test: string; calibration: string; ratios: number[] }[] = [
  { model: `${FASHION}/model.json`, test: `${FASHION}/test.npz`, calibration: `${FASHION}/train60k.npz:x`, ratios: [0.5] },
  { model: 'examples/fashion-cnn/model.json', test: `${FASHION}/test.npz`, calibration: `${FASHION}/train60k.npz:x`, ratios: [0.5] },
];

/** Two-sided exact McNemar p-value: P(a split of n discordant images at least as uneven as k : n−k under 1/2 : 1/2). */
function mcnemar(b: number, c: number): number {
  const n = b + c, k = Math.min(b, c);
  const lf = [0];
  for (let i = 1; i <= n; i++) lf.push(lf[i - 1] + Math.log(i));
  let p = 0;
  for (let i = 0; i <= k; i++) p += Math.exp(lf[n] - lf[i] - lf[n - i] - n * Math.LN2);
  return Math.min(1, 2 * p);
}

const engine = await createEngine('auto');
const tf = await tfjs();
const dir = mkdtempSync(join(tmpdir(), 'reducible-paired-'));
console.log('| model | ratio | whitened right, plain wrong | plain right, whitened wrong | exact McNemar p |\n|---|---|---|---|---|');
try {
  for (const p of POINTS) {
    const calibration = await inputsFromFile(p.calibration);
    const [x, y] = [await inputsFromFile(`${p.test}:x`), await inputsFromFile(`${p.test}:y`)];
    const xs = tf.tensor(x.data, x.shape);
    const predicted = async (path: string): Promise<ArrayLike<number>> => {
      const m = await loadTfjsLayersModel(path);
      const out = m.predict(xs, { batchSize: 1000 }) as import('@tensorflow/tfjs').Tensor;
      const labels = out.argMax(-1).dataSync();
      tf.dispose(out);
      m.dispose();
      return labels;
    };
    for (const ratio of p.ratios) {
      const out = (method: string): string => join(dir, `${p.model.split('/')[1]}-${ratio}-${method}.json`);
      await compressFile(p.model, { goal: { kind: 'ratio', ratio }, engine, out: out('svd'), force: true, method: 'svd' });
      await compressFile(p.model, { goal: { kind: 'ratio', ratio }, engine, out: out('whitened'), force: true, method: 'whitened', calibration });
      const [plain, whitened] = [await predicted(out('svd')), await predicted(out('whitened'))];
      let b = 0, c = 0;
      for (let i = 0; i < y.data.length; i++) {
        const pr = plain[i] === y.data[i], wr = whitened[i] === y.data[i];
        if (wr && !pr) b++;
        if (pr && !wr) c++;
      }
      console.log(`| ${p.model} | ${ratio} | ${b} | ${c} | ${mcnemar(b, c).toFixed(2)} |`);
    }
    tf.dispose(xs);
  }
} finally {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}
