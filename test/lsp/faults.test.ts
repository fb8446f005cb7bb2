// The language server under load and faults, as an editor sees it (real dist/server.js over
// stdio, real LSP client, real files): 500 model files of every format, some corrupt, while
// a model.json is hovered; files that vanish, shrink or grow under it; HDF5 files on which
// libhdf5 loops, whose reader thread is stopped and replaced. Latency figures are measured by
// bench/lsp/load.ts, not asserted here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FileChangeType, HoverRequest, type Diagnostic } from 'vscode-languageserver-protocol/node';
import { isTfjsJson } from '../../core/formats/tfjs/read.js';
import { modelsRequest, type ModelSummary } from '../../shared/protocol.js';
import { makeFixtures, tempDir } from '../helpers/cli.js';
import { makeSeeds } from '../robustness/fuzz/seeds.js';
import { inputFiles } from '../robustness/fuzz/worker.js';
import { fileUri, LspSession } from './lspClient.js';
import { makeLoadWorkspace, type LoadWorkspace } from './loadWorkspace.js';

const text = (d: Diagnostic): string => (typeof d.message === 'string' ? d.message : d.message.value);
const models = (lsp: LspSession): Promise<ModelSummary[]> => lsp.connection.sendRequest(modelsRequest, undefined);
const entryOf = async (lsp: LspSession, path: string): Promise<ModelSummary | undefined> => (await models(lsp)).find((m) => m.uri === fileUri(path));

/** Resolves once the server reports `path` in a final state (one of `states`). */
async function settled(lsp: LspSession, path: string, states: string[]): Promise<ModelSummary> {
  for (;;) {
    const e = await entryOf(lsp, path);
    if (e && states.includes(e.state)) return e;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('500 model files, some corrupt: hovers answered while the queue drains', () => {
  let w: LoadWorkspace;
  let lsp: LspSession;
  before(async () => {
    w = await makeLoadWorkspace(500);
    lsp = await LspSession.start(w.root, {});
    await lsp.open(w.hoverModel);
  });
  after(async () => { await lsp.stop(); });

  test('every hover is answered, and every file ends analysed or marked with a diagnostic', async () => {
    let drained = false;
    void lsp.quiescent(0).then(() => { drained = true; });
    let hovers = 0, answered = 0;
    while (!drained) {
      const h = await lsp.connection.sendRequest(HoverRequest.type, { textDocument: { uri: fileUri(w.hoverModel) }, position: w.hoverPositions[hovers % w.hoverPositions.length] });
      hovers++;
      if (h) answered++;
    }
    assert.ok(hovers > 10, `${hovers} hovers sent while the queue drained`);
    // The example model is the biggest file, analysed first: from then on every hover has an answer.
    assert.ok(answered > 0, 'hovers on the analysed model.json had content');
    const all = await models(lsp);
    const byUri = new Map(all.map((m) => [m.uri, m]));
    for (const path of w.models) {
      const e = byUri.get(fileUri(path));
      // A mutation can turn a model.json into JSON without a weights manifest: not a model any more.
      if (!e && path.endsWith('.json') && !(await isTfjsJson(path))) continue;
      assert.ok(e, `${path} is listed`);
      if (e.state === 'error') {
        const d = lsp.diagnostics.get(e.uri) ?? [];
        assert.equal(d.length, 1, `${path}: one diagnostic for its error`);
        assert.ok(text(d[0]).includes(dirname(path)), text(d[0]));
      } else {
        assert.equal(e.state, 'ready', `${path}: ${e.state} ${e.message ?? ''}`);
      }
    }
    // Leftovers (a corrupt model.json's shard listed on its own) are final too.
    assert.deepEqual(all.filter((m) => m.state === 'pending' || m.state === 'analysing').map((m) => m.uri), []);
    assert.ok(all.some((m) => m.state === 'error') && all.some((m) => m.state === 'ready'));
    assert.equal(lsp.proc.exitCode, null, 'the server is still running');
  });
});

describe('files that vanish, shrink, grow, or make libhdf5 loop', () => {
  const ws = tempDir('reducible-faults-ws-');
  const st = makeFixtures('test/fixtures/make_safetensors.py');
  const good = readFileSync(join(st, 'mlp-float32.safetensors'));
  let lsp: LspSession;
  before(async () => {
    writeFileSync(join(ws, 'first.safetensors'), good);
    lsp = await LspSession.start(ws, {});
    await settled(lsp, join(ws, 'first.safetensors'), ['ready']);
  });
  after(async () => { await lsp.stop(); });

  test('a file deleted while it is being analysed is dropped; the next file is analysed', async () => {
    const doomed = join(ws, 'doomed.safetensors');
    writeFileSync(doomed, good);
    const seen = lsp.statuses.length;
    await lsp.changed(doomed, FileChangeType.Created);
    // Deleted as soon as the server says it is working on it.
    await lsp.until(() => lsp.statuses.slice(seen).find((s) => s.current?.uri === fileUri(doomed)));
    unlinkSync(doomed);
    await lsp.changed(doomed, FileChangeType.Deleted);
    const after = join(ws, 'after-delete.safetensors');
    writeFileSync(after, good);
    await lsp.changed(after, FileChangeType.Created);
    await settled(lsp, after, ['ready']);
    assert.equal(await entryOf(lsp, doomed), undefined);
    assert.deepEqual(lsp.diagnostics.get(fileUri(doomed)) ?? [], []);
  });

  test('a file deleted without the editor saying so is marked when it is read', async () => {
    const gone = join(ws, 'gone.safetensors');
    writeFileSync(gone, good);
    await lsp.changed(gone, FileChangeType.Created);
    await settled(lsp, gone, ['ready']);
    unlinkSync(gone);
    // A change event for a file that no longer exists (the editor's view was stale).
    await lsp.changed(gone, FileChangeType.Changed);
    for (let e = await entryOf(lsp, gone); e !== undefined; e = await entryOf(lsp, gone)) {
      if (e.state === 'error') { assert.match(e.message!, /gone\.safetensors/); return; }
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  test('a truncated file gets a diagnostic naming it; restored, the diagnostic goes', async () => {
    const file = join(ws, 'shrinks.safetensors');
    writeFileSync(file, good);
    await lsp.changed(file, FileChangeType.Created);
    await settled(lsp, file, ['ready']);
    truncateSync(file, Math.floor(good.length / 2));
    await lsp.changed(file, FileChangeType.Changed);
    const e = await settled(lsp, file, ['error']);
    assert.match(e.message!, /shrinks\.safetensors/);
    const d = await lsp.until(() => lsp.diagnostics.get(fileUri(file))?.[0]);
    assert.ok(text(d).includes('shrinks.safetensors') && !text(d).includes('\n'), text(d));
    writeFileSync(file, good);
    await lsp.changed(file, FileChangeType.Changed);
    await settled(lsp, file, ['ready']);
    await lsp.until(() => (lsp.diagnostics.get(fileUri(file))?.length === 0 ? true : undefined));
  });

  test('a file still being written is marked, then analysed once complete', async () => {
    const file = join(ws, 'grows.safetensors');
    const half = Math.floor(good.length / 2);
    writeFileSync(file, good.subarray(0, half));
    await lsp.changed(file, FileChangeType.Created);
    assert.match((await settled(lsp, file, ['error'])).message!, /grows\.safetensors/);
    appendFileSync(file, good.subarray(half));
    await lsp.changed(file, FileChangeType.Changed);
    await settled(lsp, file, ['ready']);
  });

  test('an HDF5 file on which libhdf5 loops: its reader thread is stopped, the file marked, the next Keras file read by a fresh one', async () => {
    const seeds = await makeSeeds(['keras-h5', 'keras']);
    const put = (name: string, id: string, m = { file: 0, bytes: [], json: [] }): string => {
      const dir = join(ws, name);
      mkdirSync(dir);
      const files = inputFiles(seeds.find((s) => s.id === id)!, m);
      for (const f of files) writeFileSync(join(dir, f.name), f.bytes);
      return join(dir, files[0].name);
    };
    // Found by the fuzzer (test/robustness/regressions.test.ts); h5py loops on it too.
    const looping = put('looping', 'mlp.h5', { file: 5, bytes: [{ k: 'field', which: 1066020527, delta: 12 }, { k: 'field', which: 1073741802, delta: 15 }], json: [] } as never);
    await lsp.changed(looping, FileChangeType.Created);
    const e = await settled(lsp, looping, ['error']);
    assert.equal(e.message, `${looping}: HDF5 reader did not finish in 10 s (corrupt file?)`);
    assert.equal(text((lsp.diagnostics.get(fileUri(looping)) ?? [])[0]).includes('HDF5 reader did not finish'), true);
    const next = put('next', 'functional.keras');
    await lsp.changed(next, FileChangeType.Created);
    assert.ok((await settled(lsp, next, ['ready'])).totalParams! > 0);
    assert.equal(lsp.proc.exitCode, null);
  });
});
