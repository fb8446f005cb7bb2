// The language server as any editor sees it: real dist/server.js over stdio, a real LSP
// client, a fixture workspace with a TF.js model, a safetensors checkpoint, a corrupt file
// and training code. Expected numbers come from the CLI's analysis of the same files.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CodeActionRequest, CodeLensRequest, DidChangeConfigurationNotification, DidChangeTextDocumentNotification, DiagnosticSeverity, FileChangeType, HoverRequest,
  type Diagnostic, type Hover, type MarkupContent, type Position,
} from 'vscode-languageserver-protocol/node';
import type { Analysis } from '../../core/analysis.js';
import { analysisRequest, modelsRequest, OUTLINE_SCHEME, outlineRequest, type CompressArgs, type ModelSummary } from '../../shared/protocol.js';
import { cli, makeFixtures, tempDir } from '../helpers/cli.js';
import { fileUri, LspSession } from './lspClient.js';

const ENERGY = 0.9;
const fixtures = makeFixtures('test/fixtures/make_safetensors.py');
const ws = tempDir('reducible-lsp-ws-');
const storage = tempDir('reducible-lsp-storage-');
const tfjs = join(ws, 'fashion', 'model.json');
const ckpt = join(ws, 'ckpt', 'mlp.safetensors');
const broken = join(ws, 'ckpt', 'broken.safetensors');
const trainPy = join(ws, 'train.py');
mkdirSync(join(ws, 'fashion'));
mkdirSync(join(ws, 'ckpt'));
mkdirSync(join(ws, 'node_modules', 'dep'), { recursive: true });
copyFileSync('examples/fashion-mnist/model.json', tfjs);
copyFileSync('examples/fashion-mnist/weights.bin', join(ws, 'fashion', 'weights.bin'));
copyFileSync(join(fixtures, 'mlp-float32.safetensors'), ckpt);
// Ignored folders are never searched.
copyFileSync(join(fixtures, 'mlp-float32.safetensors'), join(ws, 'node_modules', 'dep', 'hidden.safetensors'));
writeFileSync(broken, Buffer.from('this is not a safetensors file at all'));
writeFileSync(trainPy, [
  'import torch.nn as nn',
  'class MLP(nn.Module):',
  '    def __init__(self):',
  '        super().__init__()',
  '        self.fc1 = nn.Linear(784, 256)',
  '        self.fc2 = nn.Linear(256, 999)',
  '        self.conv = nn.Conv2d(in_channels=16, out_channels=32, kernel_size=3)',
  '',
].join('\n'));
const trainTs = join(ws, 'train.ts');
writeFileSync(trainTs, [
  "model.add(tf.layers.dense({",
  "  units: 512, activation: 'relu',",
  "  name: 'dense_1',",
  '}));',
  "model.add(tf.layers.dense({ units: 7, name: 'dense_2' }));",
  '',
].join('\n'));

function cliAnalysis(path: string, energy = ENERGY): Analysis {
  const r = cli('analyze', path, '--json', '--energy', String(energy));
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}
const worth = (a: Analysis): string[] => a.layers.filter((l) => l.factorisable && l.suggestedRank < Math.min(l.rows, l.cols)).map((l) => l.name).sort();

function positionAt(text: string, offset: number): Position {
  const lines = text.slice(0, offset).split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1].length };
}

/** Position of the first occurrence of `needle` in `text`, plus `shift` characters. */
function positionOf(text: string, needle: string, shift = 1): Position {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `${needle} in text`);
  return positionAt(text, at + shift);
}
const message = (d: Diagnostic): string => (typeof d.message === 'string' ? d.message : d.message.value);
const hoverText = (h: Hover | null): string => (h?.contents as MarkupContent | undefined)?.value ?? '';

// Waits are on server messages; the timeouts only turn a hang into a failure.
describe('language server over stdio', { timeout: 300_000 }, () => {
  let lsp: LspSession;
  const tfjsText = readFileSync(tfjs, 'utf8');

  before(async () => {
    lsp = await LspSession.start(ws, { storagePath: storage, settings: { energy: ENERGY } });
    await lsp.quiescent(0);
  });
  after(async () => { await lsp.stop(); });

  test('reducible/models lists every model with its analysis, and the corrupt file as an error', async () => {
    const models = await lsp.connection.sendRequest(modelsRequest);
    const byUri = new Map(models.map((m) => [m.uri, m]));
    assert.deepEqual([...byUri.keys()].sort(), [fileUri(broken), fileUri(ckpt), fileUri(tfjs)].sort());
    const ref = cliAnalysis(ckpt);
    const m = byUri.get(fileUri(ckpt))!;
    assert.equal(m.state, 'ready');
    assert.equal(m.format, 'safetensors');
    assert.equal(m.totalParams, ref.totalParams);
    assert.equal(m.fileBytes, ref.fileBytes);
    const saved = ref.layers.reduce((s, l) => s + l.params - l.suggestedParams, 0);
    assert.ok(Math.abs(m.removable! - saved / ref.totalParams) < 1e-12);
    assert.equal(byUri.get(fileUri(tfjs))!.format, 'tfjs-layers');
    assert.equal(byUri.get(fileUri(broken))!.state, 'error');
    assert.ok(lsp.watcherGlobs.some((g) => g.includes('safetensors') && g.includes('json')), `watchers: ${lsp.watcherGlobs}`);
  });

  test('reducible/analysis matches the CLI', async () => {
    const a = await lsp.connection.sendRequest(analysisRequest, { uri: fileUri(ckpt) });
    const ref = cliAnalysis(ckpt);
    assert.deepEqual(a.layers.map((l) => [l.name, l.suggestedRank, l.breakEvenRank]), ref.layers.map((l) => [l.name, l.suggestedRank, l.breakEvenRank]));
    await assert.rejects(lsp.connection.sendRequest(analysisRequest, { uri: fileUri(broken) }), /broken\.safetensors/);
  });

  test('corrupt file: one error diagnostic naming it, and the server keeps answering', async () => {
    const diags = await lsp.until(() => lsp.diagnostics.get(fileUri(broken)));
    assert.equal(diags.length, 1);
    assert.equal(diags[0].severity, DiagnosticSeverity.Error);
    assert.match(message(diags[0]), /broken\.safetensors/);
    assert.equal((await lsp.connection.sendRequest(modelsRequest)).length, 3);
  });

  test('model.json: diagnostics on exactly the layers worth compressing, at their names', async () => {
    const expected = worth(cliAnalysis(tfjs));
    const diags = await lsp.until(() => lsp.diagnostics.get(fileUri(tfjs)));
    assert.deepEqual(diags.map((d) => message(d).split(':')[0]).sort(), expected);
    for (const d of diags) {
      assert.ok(d.severity === DiagnosticSeverity.Information || d.severity === DiagnosticSeverity.Hint);
      const line = tfjsText.split('\n')[d.range.start.line];
      assert.match(line.slice(d.range.start.character, d.range.end.character), /^"name"\s*:\s*"[^"]+"$/);
    }
  });

  test('hover on a layer in model.json shows the rank hint', async () => {
    await lsp.open(tfjs);
    const ref = cliAnalysis(tfjs).layers.find((l) => l.name === 'dense_1')!;
    // Anywhere in the layer's config answers, e.g. on its "units".
    const at = tfjsText.indexOf('"units"', tfjsText.indexOf('"class_name":"Dense"'));
    const h = await lsp.connection.sendRequest(HoverRequest.type, { textDocument: { uri: fileUri(tfjs) }, position: positionAt(tfjsText, at + 2) });
    const text = hoverText(h);
    assert.match(text, /\*\*dense_1\*\*/);
    assert.match(text, /[▁▂▃▄▅▆▇█]{8,}/);
    assert.match(text, new RegExp(`break-even rank \\| ${ref.breakEvenRank} \\|`));
    assert.match(text, /784 × 512/);
    if (ref.suggestedRank < 512) assert.match(text, new RegExp(`factorise to rank ${ref.suggestedRank}: −\\d+ % params, \\d+\\.\\d % energy`));
    // Outside every layer (the weights manifest) there is nothing to say.
    const none = await lsp.connection.sendRequest(HoverRequest.type, { textDocument: { uri: fileUri(tfjs) }, position: positionOf(tfjsText, '"weightsManifest"') });
    assert.equal(none, null);
  });

  test('code lens above every layer, opening the panel', async () => {
    const lenses = await lsp.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri: fileUri(tfjs) } });
    assert.deepEqual(lenses!.map((l) => l.command!.arguments![0].layer).sort(), cliAnalysis(tfjs).layers.map((l) => l.name).sort());
    for (const l of lenses!) {
      assert.equal(l.command!.command, 'reducible.openPanel');
      assert.equal(l.command!.arguments![0].uri, fileUri(tfjs));
      assert.match(l.command!.title, /: (factorise to rank \d+|keep dense)/);
    }
  });

  test('code actions on a layer run reducible.compress with a plan or a ratio', async () => {
    const ref = cliAnalysis(tfjs);
    const layer = ref.layers.find((l) => worth(ref).includes(l.name));
    assert.ok(layer, 'the fixture model has a layer worth compressing at this energy');
    const pos = positionOf(tfjsText, `"name":"${layer.name}"`);
    const actions = await lsp.connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri: fileUri(tfjs) }, range: { start: pos, end: pos }, context: { diagnostics: [] },
    });
    const byTitle = new Map(actions!.map((a) => ['command' in a && a.command ? a.title : '', a as { command: { command: string; arguments: CompressArgs[] } }]));
    const one = byTitle.get(`Compress ${layer.name} to rank ${layer.suggestedRank}`);
    assert.ok(one, [...byTitle.keys()].join(' / '));
    assert.equal(one.command.command, 'reducible.compress');
    assert.deepEqual(one.command.arguments[0], { uri: fileUri(tfjs), plan: { layers: { [layer.name]: layer.suggestedRank } } });
    const all = byTitle.get('Compress model at suggested ranks')!;
    assert.deepEqual(all.command.arguments[0].plan!.layers, Object.fromEntries(ref.layers.filter((l) => worth(ref).includes(l.name)).map((l) => [l.name, l.suggestedRank])));
    const ratio = [...byTitle.entries()].find(([t]) => /^Compress model to \d+ % of parameters…$/.test(t));
    assert.ok(ratio && ratio[1].command.arguments[0].ratio! > 0 && ratio[1].command.arguments[0].ratio! <= 1);
  });

  test('training code: nn.Linear matched by attribute and shape to the checkpoint', async () => {
    const py = readFileSync(trainPy, 'utf8');
    await lsp.open(trainPy);
    const uri = fileUri(trainPy);
    const h = await lsp.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: positionOf(py, 'nn.Linear(784') });
    assert.match(hoverText(h), /\*\*fc1\*\* · linear · mlp\.safetensors/);
    assert.match(hoverText(h), /256 × 784/);
    // fc2 exists in the checkpoint but with another shape: no match, no hint.
    assert.equal(await lsp.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: positionOf(py, 'nn.Linear(256') }), null);
    const [module, ...lenses] = (await lsp.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri } }))!;
    assert.deepEqual(lenses.map((l) => l.command!.arguments![0].layer), ['fc1', 'conv']);
    assert.equal(lenses[0].command!.arguments![0].uri, fileUri(ckpt));
    // The checkpoint needs its module to be run (whitening, evaluation): the file's callables are offered as that module, from the top.
    assert.equal(module.command!.command, 'reducible.chooseTorchModule');
    assert.equal(module.command!.title, 'Reducible: run mlp.safetensors with a module from this file…');
    assert.deepEqual(module.command!.arguments, [{ model: fileUri(ckpt), file: uri }]);
    assert.deepEqual(module.range.start, { line: 0, character: 0 });
    const conv = await lsp.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: positionOf(py, 'nn.Conv2d') });
    assert.match(hoverText(conv), /\*\*conv\*\* · conv2d/);
  });

  test('training code: tf.layers.dense matched by name and units to model.json', async () => {
    const ts = readFileSync(trainTs, 'utf8');
    await lsp.open(trainTs);
    const uri = fileUri(trainTs);
    // The call spans lines; a hover anywhere in it answers.
    const h = await lsp.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: positionOf(ts, "name: 'dense_1'") });
    assert.match(hoverText(h), /\*\*dense_1\*\* · dense · model\.json/);
    // dense_2 has 256 units in the model, not 7.
    assert.equal(await lsp.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: positionOf(ts, 'units: 7') }), null);
  });

  test('outline of a binary model, with hovers on its rows', async () => {
    const { text } = await lsp.connection.sendRequest(outlineRequest, { uri: fileUri(ckpt) });
    for (const name of ['fc1', 'fc2', 'head', 'conv', 'embed']) assert.match(text, new RegExp(`^${name} +\\S+ +`, 'm'));
    assert.match(text, /^fc1\.bias +256 +float32/m);
    const uri = `${OUTLINE_SCHEME}:${fileUri(ckpt).slice('file:'.length)}`;
    await lsp.open(ckpt, text, uri);
    const h = await lsp.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: positionOf(text, '\nembed ', 3) });
    assert.match(hoverText(h), /\*\*embed\*\* · embedding/);
    const lenses = await lsp.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri } });
    assert.equal(lenses!.length, 5);
    await assert.rejects(lsp.connection.sendRequest(outlineRequest, { uri: fileUri(broken) }), /broken\.safetensors/);
  });

  test('a saved plan asking for a rank above break-even: Information on that layer, naming the break-even rank', async () => {
    const ref = cliAnalysis(tfjs);
    const [first, second] = ref.layers.filter((l) => l.factorisable && l.breakEvenRank + 1 < Math.min(l.rows, l.cols));
    // One rank that cannot pay off, one at break-even (still pays), one full rank (keeps the layer dense).
    const plan = join(ws, 'fashion', 'model.plan.json');
    const full = Math.min(second.rows, second.cols);
    writeFileSync(plan, JSON.stringify({ layers: { [first.name]: first.breakEvenRank + 1, [second.name]: second.breakEvenRank } }));
    const planned = (uri: string): Diagnostic[] | undefined => lsp.diagnostics.get(uri)?.filter((d) => d.code === 'plan-cannot-pay');
    await lsp.changed(plan, FileChangeType.Created);
    const diags = await lsp.until(() => (planned(fileUri(tfjs))?.length ? planned(fileUri(tfjs)) : undefined));
    assert.equal(diags.length, 1);
    assert.equal(diags[0].severity, DiagnosticSeverity.Information);
    assert.equal(message(diags[0]).split(':')[0], first.name);
    assert.match(message(diags[0]), new RegExp(`low rank cannot pay off at rank ${first.breakEvenRank + 1} \\(model\\.plan\\.json\\): the break-even rank is ${first.breakEvenRank};`));
    const line = tfjsText.split('\n')[diags[0].range.start.line];
    assert.equal(line.slice(diags[0].range.start.character, diags[0].range.end.character).replace(/\s/g, ''), `"name":"${first.name}"`);
    // The plan changes to full rank for that layer: nothing to say any more. Until the watch
    // event says so, edits of model.json reuse the plan as read (it is not read per keystroke).
    writeFileSync(plan, JSON.stringify({ layers: { [first.name]: Math.min(first.rows, first.cols), [second.name]: full } }));
    const published = lsp.diagnostics.get(fileUri(tfjs));
    await lsp.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri: fileUri(tfjs), version: 2 }, contentChanges: [{ text: tfjsText }],
    });
    await lsp.until(() => (lsp.diagnostics.get(fileUri(tfjs)) !== published ? true : undefined));
    assert.equal(planned(fileUri(tfjs))!.length, 1);
    await lsp.changed(plan, FileChangeType.Changed);
    await lsp.until(() => (planned(fileUri(tfjs))?.length === 0 ? true : undefined));

    // A binary model shows it in its outline; `plan.json` applies to every model in its folder.
    const ckptRef = cliAnalysis(ckpt).layers.find((l) => l.name === 'fc1')!;
    const outlineUri = `${OUTLINE_SCHEME}:${fileUri(ckpt).slice('file:'.length)}`;
    const folderPlan = join(ws, 'ckpt', 'plan.json');
    writeFileSync(folderPlan, JSON.stringify({ layers: { fc1: ckptRef.breakEvenRank + 1 } }));
    await lsp.changed(folderPlan, FileChangeType.Created);
    const outlineDiags = await lsp.until(() => (planned(outlineUri)?.length ? planned(outlineUri) : undefined));
    assert.match(message(outlineDiags[0]), new RegExp(`^fc1: low rank cannot pay off at rank ${ckptRef.breakEvenRank + 1} \\(plan\\.json\\): the break-even rank is ${ckptRef.breakEvenRank};`));
    rmSync(folderPlan);
    rmSync(plan);
    await lsp.changed(folderPlan, FileChangeType.Deleted);
    await lsp.until(() => (planned(outlineUri)?.length === 0 ? true : undefined));
  });

  test('file changes: a fixed file loses its error, an edited checkpoint is re-analysed', async () => {
    let mark = lsp.statuses.length;
    copyFileSync(join(fixtures, 'mlp-float32.safetensors'), broken);
    await lsp.changed(broken, FileChangeType.Changed);
    await lsp.quiescent(mark);
    assert.deepEqual(await lsp.until(() => (lsp.diagnostics.get(fileUri(broken))?.length === 0 ? [] : undefined)), []);
    mark = lsp.statuses.length;
    copyFileSync(join(fixtures, 'mlp-float16.safetensors'), ckpt);
    await lsp.changed(ckpt, FileChangeType.Changed);
    await lsp.quiescent(mark);
    const models = await lsp.connection.sendRequest(modelsRequest);
    const m = models.find((x) => x.uri === fileUri(ckpt))!;
    assert.equal(m.fileBytes, readFileSync(ckpt).length);
    const a = await lsp.connection.sendRequest(analysisRequest, { uri: fileUri(ckpt) });
    assert.equal(a.layers.find((l) => l.name === 'fc1')!.dtype, 'float16');
    // A new energy target re-derives every suggestion: the diagnostics follow the CLI at that energy.
    const expected = worth(cliAnalysis(tfjs, 0.99)).join();
    assert.notEqual(expected, worth(cliAnalysis(tfjs)).join(), 'the fixture differs between the two energies');
    await lsp.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { reducible: { energy: 0.99 } } });
    await lsp.until(() => (lsp.diagnostics.get(fileUri(tfjs))?.map((d) => message(d).split(':')[0]).sort().join() === expected ? true : undefined));
  });
});

test('a reopened workspace takes its analyses from the persisted cache', { timeout: 120_000 }, async () => {
  const stored = join(storage, readdirSync(storage)[0]);
  const files = readdirSync(stored).filter((f) => /^[0-9a-f]{64}\.json$/.test(f));
  assert.ok(files.length >= 2, `cache entries: ${files}`);
  // Mark every cached analysis so that an answer from the cache is recognisable.
  for (const f of files) {
    const a = JSON.parse(readFileSync(join(stored, f), 'utf8')) as Analysis;
    a.layers[0].singularValues[0] = 12345;
    writeFileSync(join(stored, f), JSON.stringify(a));
  }
  const lsp = await LspSession.start(ws, { storagePath: storage, settings: { energy: ENERGY } });
  try {
    await lsp.quiescent(0);
    const a = await lsp.connection.sendRequest(analysisRequest, { uri: fileUri(tfjs) });
    assert.equal(a.layers[0].singularValues[0], 12345);
  } finally {
    await lsp.stop();
  }
});

test('the cache persists in the storage folder, keyed by content: a second server on a copied workspace analyses nothing', { timeout: 120_000 }, async () => {
  const store = tempDir('reducible-lsp-storage-');
  const summaries = async (folder: string): Promise<{ models: ModelSummary[]; analysis: Analysis }> => {
    const lsp = await LspSession.start(folder, { storagePath: store, settings: { energy: ENERGY } });
    try {
      await lsp.quiescent(0);
      const models = await lsp.connection.sendRequest(modelsRequest);
      const analysis = await lsp.connection.sendRequest(analysisRequest, { uri: fileUri(join(folder, 'fashion', 'model.json')) });
      return { models, analysis };
    } finally {
      await lsp.stop();
    }
  };
  const first = await summaries(ws);
  const readable = first.models.filter((m) => m.state === 'ready');
  assert.ok(readable.length >= 2 && readable.every((m) => m.fromCache === false), JSON.stringify(first.models));
  // Same bytes at other paths (a reopened or moved workspace): same cache entries.
  const moved = tempDir('reducible-lsp-moved-');
  cpSync(ws, moved, { recursive: true, preserveTimestamps: false });
  const second = await summaries(moved);
  assert.deepEqual(second.models.filter((m) => m.state === 'ready').map((m) => [m.uri.slice(fileUri(moved).length), m.fromCache]).sort(),
    readable.map((m) => [m.uri.slice(fileUri(ws).length), true]).sort());
  assert.deepEqual(second.analysis.layers, first.analysis.layers);
});

test('a model opened from outside the workspace is analysed on open', { timeout: 120_000 }, async () => {
  const elsewhere = join(tempDir(), 'model.json');
  copyFileSync(tfjs, elsewhere);
  copyFileSync(join(ws, 'fashion', 'weights.bin'), join(elsewhere, '..', 'weights.bin'));
  const lsp = await LspSession.start(join(ws, 'ckpt'), {});
  try {
    await lsp.quiescent(0);
    const mark = lsp.statuses.length;
    await lsp.open(elsewhere);
    await lsp.quiescent(mark);
    const text = readFileSync(elsewhere, 'utf8');
    const h = await lsp.connection.sendRequest(HoverRequest.type, { textDocument: { uri: fileUri(elsewhere) }, position: positionOf(text, '"name":"dense_1"', 9) });
    assert.match(hoverText(h), /\*\*dense_1\*\*/);
  } finally {
    await lsp.stop();
  }
});

test('settings: models over maxFileSizeMB are listed but skipped; autoRun off analyses on request', { timeout: 120_000 }, async () => {
  const lsp = await LspSession.start(ws, { settings: { maxFileSizeMB: 0.001, autoRun: false } });
  try {
    await lsp.quiescent(0);
    const states = async (): Promise<string[]> => (await lsp.connection.sendRequest(modelsRequest)).map((m) => m.state).sort();
    // Too big is said at once, without waiting for (or running) an analysis; smaller files wait for a request.
    const models = await lsp.connection.sendRequest(modelsRequest);
    assert.equal(models.length, 3);
    for (const m of models) {
      if (m.fileBytes <= 0.001 * 2 ** 20) { assert.equal(m.state, 'pending'); continue; }
      assert.equal(m.state, 'skipped');
      assert.equal(m.message, 'skipped: larger than 0.001 MB (reducible.maxFileSizeMB)');
    }
    await assert.rejects(lsp.connection.sendRequest(analysisRequest, { uri: fileUri(ckpt) }), /mlp\.safetensors: skipped: larger than 0\.001 MB/);
    await lsp.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { reducible: { maxFileSizeMB: 100 } } });
    const a = await lsp.connection.sendRequest(analysisRequest, { uri: fileUri(ckpt) });
    assert.equal(a.format, 'safetensors');
    // Only the requested model was analysed: autoRun is still off.
    assert.deepEqual((await states()).filter((st) => st !== 'pending'), ['ready']);
  } finally {
    await lsp.stop();
  }
});

test('files.exclude: excluded models are never listed, and vanish or return when the setting changes', { timeout: 120_000 }, async () => {
  const listed = async (): Promise<string[]> => (await lsp.connection.sendRequest(modelsRequest)).map((m) => m.uri).sort();
  // Read per folder through workspace/configuration, as VS Code answers it.
  const lsp = await LspSession.start(ws, { settings: { autoRun: false } }, { 'files.exclude': { '**/ckpt': true, '**/.git': true } });
  try {
    await lsp.quiescent(0);
    assert.deepEqual(await listed(), [fileUri(tfjs)]);
    // A file event inside an excluded folder adds nothing.
    await lsp.changed(ckpt, FileChangeType.Changed);
    assert.deepEqual(await listed(), [fileUri(tfjs)]);

    const changeTo = async (exclude: unknown): Promise<string[]> => {
      const mark = lsp.statuses.length;
      lsp.configuration['files.exclude'] = exclude;
      // Clients announce a change with or without the new values; the server re-reads either way.
      await lsp.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
      await lsp.quiescent(mark);
      return listed();
    };
    assert.deepEqual(await changeTo({ '**/ckpt': false, '*/*.json': true }), [fileUri(broken), fileUri(ckpt)].sort());
    assert.deepEqual(await changeTo({ 'ckpt/{broken,other}.safetensors': true }), [fileUri(ckpt), fileUri(tfjs)].sort());
    assert.deepEqual(await changeTo({}), [fileUri(broken), fileUri(ckpt), fileUri(tfjs)].sort());
  } finally {
    await lsp.stop();
  }
});

test('a sharded safetensors checkpoint is one model: its index is listed, its shards are not', { timeout: 120_000 }, async () => {
  const shardsDir = makeFixtures('test/fixtures/make_safetensors_shards.py');
  const root = tempDir('reducible-lsp-shards-');
  for (const f of readdirSync(shardsDir)) if (f.endsWith('.safetensors') || f.endsWith('.index.json')) copyFileSync(join(shardsDir, f), join(root, f));
  const index = join(root, 'model.safetensors.index.json');
  const lsp = await LspSession.start(root, { storagePath: tempDir() });
  try {
    await lsp.quiescent(0);
    const models = await lsp.connection.sendRequest(modelsRequest);
    assert.deepEqual(models.map((m) => m.uri), [fileUri(index)]);
    const ref = cliAnalysis(index);
    assert.equal(models[0].state, 'ready');
    assert.equal(models[0].totalParams, ref.totalParams);
    assert.equal(models[0].fileBytes, ref.fileBytes);
  } finally {
    await lsp.stop();
  }
});
