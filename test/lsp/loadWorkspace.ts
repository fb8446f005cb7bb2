// A workspace of many small model files for the load test (test/lsp/faults.test.ts) and the
// load bench (bench/lsp/load.ts): the fuzzer's seeds — the repo's real fixtures in every
// format — copied round-robin into one folder per model, one in eight of them mutated the
// way the fuzzer mutates inputs (so some are corrupt), plus the example TF.js model whose
// model.json is hovered while the rest is analysed.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Position } from 'vscode-languageserver-protocol/node';
import { tempDir } from '../helpers/cli.js';
import { mutation } from '../robustness/fuzz/mutations.js';
import { makeSeeds } from '../robustness/fuzz/seeds.js';
import { inputFiles } from '../robustness/fuzz/worker.js';

export interface LoadWorkspace {
  root: string;
  /** The main file of every generated model (a model's first file). */
  models: string[];
  /** The example model.json, and positions on each of its layers. */
  hoverModel: string;
  hoverPositions: Position[];
}

export async function makeLoadWorkspace(count: number, seed = 1): Promise<LoadWorkspace> {
  const root = tempDir('reducible-load-ws-');
  const seeds = await makeSeeds();
  const edits = fc.sample(mutation, { seed, numRuns: count });
  const models: string[] = [];
  for (let i = 0; i < count; i++) {
    const s = seeds[i % seeds.length];
    const files = i % 8 === 7 ? inputFiles(s, edits[i]) : s.files;
    const dir = join(root, `m${String(i).padStart(3, '0')}-${s.id}`);
    mkdirSync(dir);
    for (const f of files) writeFileSync(join(dir, f.name), f.bytes);
    models.push(join(dir, files[0].name));
  }
  mkdirSync(join(root, 'fashion'));
  const hoverModel = join(root, 'fashion', 'model.json');
  copyFileSync('examples/fashion-mnist/model.json', hoverModel);
  copyFileSync('examples/fashion-mnist/weights.bin', join(root, 'fashion', 'weights.bin'));
  const text = readFileSync(hoverModel, 'utf8');
  const hoverPositions = [...text.matchAll(/"units"/g)].map((m) => {
    const lines = text.slice(0, m.index! + 2).split('\n');
    return { line: lines.length - 1, character: lines[lines.length - 1].length };
  });
  return { root, models, hoverModel, hoverPositions };
}
