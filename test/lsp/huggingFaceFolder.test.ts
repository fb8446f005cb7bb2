// Hugging Face model folders in the language server: a folder holding config.json and
// model.safetensors (or a sharded model.safetensors.index.json) is one model, listed by its folder
// URI and analysed as the CLI analyses it; its weights and shards are not models of their own. The
// real server over stdio on a temporary workspace; the listed URI then compresses through the
// client's job runner (client/compressJob.ts) as the Models view's "Compress Model…" sends it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileChangeType } from 'vscode-languageserver-protocol/node';
import { runCompress } from '../../client/compressJob.js';
import type { Analysis } from '../../core/analysis.js';
import { analysisRequest, modelsRequest, outlineRequest } from '../../shared/protocol.js';
import { cli, makeFixtures, tempDir } from '../helpers/cli.js';
import { fileUri, LspSession } from './lspClient.js';

const single = makeFixtures('test/fixtures/make_safetensors.py');
const shards = makeFixtures('test/fixtures/make_safetensors_shards.py');
const ws = tempDir('reducible-lsp-hf-');
const CONFIG = JSON.stringify({ architectures: ['MlpForTest'], model_type: 'mlp' });

/** A model folder: config.json, a tokenizer file and `weights` (file names in `from`) copied in. */
function folder(name: string, from: string, weights: string[]): string {
  const dir = join(ws, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), CONFIG);
  writeFileSync(join(dir, 'tokenizer.json'), '{}');
  for (const w of weights) copyFileSync(join(from, w), join(dir, w === 'mlp-float32.safetensors' ? 'model.safetensors' : w));
  return dir;
}

const lm = folder('lm', single, ['mlp-float32.safetensors']);
const sharded = folder('sharded', shards, readdirSync(shards).filter((f) => f.endsWith('.safetensors') || f.endsWith('.index.json')));
// A plain checkpoint beside them stays a model of its own; a config.json without weights is no model.
const plain = join(ws, 'plain.safetensors');
copyFileSync(join(single, 'mlp-float32.safetensors'), plain);
mkdirSync(join(ws, 'settings'));
writeFileSync(join(ws, 'settings', 'config.json'), '{"theme": "dark"}');

function cliAnalysis(path: string): Analysis {
  const r = cli('analyze', path, '--json', '--energy', '0.99');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Analysis;
}

test('a model folder is one model: listed by its folder, analysed as the CLI analyses it, its weights and shards not listed; it compresses by the listed URI', { timeout: 180_000 }, async () => {
  const lsp = await LspSession.start(ws, { storagePath: tempDir() });
  try {
    await lsp.quiescent(0);
    const models = await lsp.connection.sendRequest(modelsRequest);
    assert.deepEqual(models.map((m) => m.uri).sort(), [lm, plain, sharded].map(fileUri).sort());
    for (const dir of [lm, sharded]) {
      const m = models.find((x) => x.uri === fileUri(dir))!;
      const ref = cliAnalysis(dir);
      assert.deepEqual([m.state, m.format, m.totalParams, m.fileBytes], ['ready', 'huggingface', ref.totalParams, ref.fileBytes], dir);
      const analysis = await lsp.connection.sendRequest(analysisRequest, { uri: m.uri });
      assert.deepEqual(analysis.layers.map((l) => [l.name, l.suggestedRank]), ref.layers.map((l) => [l.name, l.suggestedRank]));
      const outline = await lsp.connection.sendRequest(outlineRequest, { uri: m.uri });
      for (const l of ref.layers) assert.ok(outline.text.includes(l.name), `${l.name} in the outline of ${dir}`);
    }
    // What the client's compress command sends for a Models view item or an explorer folder: the item's fsPath.
    const report = await runCompress(resolve('dist/cli.js'), { model: fileURLToPath(fileUri(lm)), goal: { ratio: 0.5 }, allowDeepCuts: true });
    assert.equal(report.output, `${lm}.reduced`);
    assert.ok(readdirSync(report.output).includes('model.safetensors'));
  } finally {
    await lsp.stop();
  }
});

test('watched files: a folder that gains a config.json becomes one model in place of its weights, and its weights return when the config goes', { timeout: 180_000 }, async () => {
  const root = tempDir('reducible-lsp-hf-watch-');
  const dir = join(root, 'late');
  mkdirSync(dir);
  const weights = join(dir, 'model.safetensors');
  copyFileSync(join(single, 'mlp-float32.safetensors'), weights);
  const lsp = await LspSession.start(root, { storagePath: tempDir() });
  const listed = async (): Promise<string[]> => (await lsp.connection.sendRequest(modelsRequest)).map((m) => m.uri).sort();
  try {
    await lsp.quiescent(0);
    assert.deepEqual(await listed(), [fileUri(weights)]);
    let mark = lsp.statuses.length;
    writeFileSync(join(dir, 'config.json'), CONFIG);
    await lsp.changed(join(dir, 'config.json'), FileChangeType.Created);
    await lsp.quiescent(mark);
    assert.deepEqual(await listed(), [fileUri(dir)]);
    mark = lsp.statuses.length;
    rmSync(join(dir, 'config.json'));
    await lsp.changed(join(dir, 'config.json'), FileChangeType.Deleted);
    await lsp.quiescent(mark);
    assert.deepEqual(await listed(), [fileUri(weights)]);
  } finally {
    await lsp.stop();
  }
});
