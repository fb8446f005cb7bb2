// A workspace of many small model files for the load test (test/lsp/faults.test.ts) and the
// load bench (bench/lsp/load.ts): half are safetensors checkpoints of random weights, each
// different (so each costs a real analysis, not a cache hit); the other half are the fuzzer's
// seeds — the repo's real fixtures in every format — copied round-robin, one in four of them
// mutated the way the fuzzer mutates inputs (so some are corrupt). Plus the example TF.js
// model whose model.json is hovered while the rest is analysed.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Position } from 'vscode-languageserver-protocol/node';
import { tempDir } from '../helpers/cli.js';
import { randomMatrix } from '../helpers/random.js';
import { mutation } from '../robustness/fuzz/mutations.js';
import { safetensorsFile } from '../robustness/fuzz/codecs.js';
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
    if (i % 2 === 0) {
      const path = join(root, `m${String(i).padStart(3, '0')}-random.safetensors`);
      writeFileSync(path, randomCheckpoint(seed * 100_000 + i));
      models.push(path);
      continue;
    }
    const s = seeds[(i >> 1) % seeds.length];
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

/** One Linear layer of random weights, 32–256 on a side, as a safetensors file. */
function randomCheckpoint(seed: number): Uint8Array {
  const rows = 32 + (seed * 37) % 225, cols = 32 + (seed * 91) % 225;
  const header = { 'fc.weight': { dtype: 'F32', shape: [rows, cols], data_offsets: [0, rows * cols * 4] } };
  return safetensorsFile(new TextEncoder().encode(JSON.stringify(header)), new Uint8Array(randomMatrix(rows, cols, seed).buffer));
}
