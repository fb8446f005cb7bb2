// Accuracy against parameters kept, per method, on the bundled Fashion-MNIST example
// (10 000 test images). Run: npm run bench:quality
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressFile } from '../../core/compress/job.js';
import { createEngine } from '../../core/engines/select.js';
import { evaluate } from '../../core/eval/evaluate.js';

const MODEL = 'examples/fashion-mnist/model.json';
const TEST = 'examples/fashion-mnist/test.npz';
const RATIOS = [1.0, 0.5, 0.34, 0.2, 0.1, 0.05];

async function main(): Promise<void> {
  const engine = await createEngine('auto');
  const dir = mkdtempSync(join(tmpdir(), 'reducible-quality-'));
  const rows: string[] = [];
  let baseline: number | undefined;
  try {
    for (const ratio of RATIOS) {
      const out = join(dir, `r${ratio}.json`);
      const rep = await compressFile(MODEL, { goal: { kind: 'ratio', ratio }, engine, out });
      const ev = await evaluate(MODEL, out, { inputs: `${TEST}:x`, labels: `${TEST}:y` });
      baseline ??= ev.original.accuracy!;
      const acc = ev.compressed.accuracy!;
      rows.push(`| svd | ${ratio.toFixed(2)} | ${(rep.compressedParams / rep.originalParams * 100).toFixed(1)} % | ${(rep.compressedBytes / rep.originalBytes * 100).toFixed(1)} % | ${(acc * 100).toFixed(2)} % | ${((baseline - acc) * 100).toFixed(2)} | ${(ev.top1Agreement! * 100).toFixed(2)} % |`);
      console.error(rows[rows.length - 1]);
    }
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`Fashion-MNIST MLP (${MODEL}), 10 000 test images, uncompressed accuracy ${(baseline! * 100).toFixed(2)} %\n`);
  console.log('| method | --ratio | params kept | bytes kept | accuracy | drop (points) | top-1 agreement |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

void main();
