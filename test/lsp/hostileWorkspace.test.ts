// The language server with hostile files in the workspace (issue 20): decompression bombs (a
// gzip-filtered HDF5 kernel of 1 GiB, a .keras and a PyTorch zip whose deflated entries
// declare 1 GiB), HDF5 files linking outside their folder, and FIFOs named like models. The
// other models are analysed within 10 s of start, each hostile file ends marked with one line
// naming it (or is not listed, for a FIFO, which is no model file), the server's peak RSS stays
// within 1 GB, and it keeps running. Real dist/server.js over stdio, real LSP client.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelsRequest, type ModelSummary } from '../../shared/protocol.js';
import { makeFixtures, tempDir } from '../helpers/cli.js';
import { PYTHON } from '../helpers/python.js';
import { fileUri, LspSession } from './lspClient.js';

const GOOD = 12;
const WITHIN_MS = 10_000;
const MAX_RSS_KB = 1024 * 1024;

const ws = tempDir('reducible-hostile-ws-');
const good = Array.from({ length: GOOD }, (_, i) => join(ws, `good-${String(i).padStart(2, '0')}.safetensors`));
/** Hostile files by the name they get in the workspace. */
const hostile: string[] = [];
const fifos = [join(ws, 'pipe.safetensors'), join(ws, 'pipe.onnx'), join(ws, 'pipe.h5')];
let lsp: LspSession;
let started = 0;

before(async () => {
  const st = makeFixtures('test/fixtures/make_safetensors.py');
  for (const g of good) copyFileSync(join(st, 'mlp-float32.safetensors'), g);
  const archives = makeFixtures('test/robustness/make_hostile_archives.py');
  const hdf5 = tempDir();
  const made = spawnSync(PYTHON, ['test/robustness/make_hostile_hdf5.py', makeFixtures('test/fixtures/make_keras.py'), hdf5], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const take = (from: string, name: string): void => { const to = join(ws, name); copyFileSync(from, to); hostile.push(to); };
  take(join(hdf5, 'models', 'bomb.h5'), 'bomb.h5');
  take(join(hdf5, 'models', 'extlink.h5'), 'extlink.h5');
  take(join(hdf5, 'models', 'vds.keras'), 'vds.keras');
  take(join(archives, 'entry_bomb.pt'), 'entry_bomb.pt');
  take(join(archives, 'keras_stream_bomb.keras'), 'keras_stream_bomb.keras');
  for (const f of fifos) assert.equal(spawnSync('mkfifo', [f]).status, 0, `mkfifo ${f}`);
  started = Date.now();
  lsp = await LspSession.start(ws, {});
});
after(async () => { await lsp?.stop(); });

const models = (): Promise<ModelSummary[]> => lsp.connection.sendRequest(modelsRequest, undefined);

test(`with bombs, links out of the folder and FIFOs beside them, ${GOOD} models are analysed within 10 s; each hostile file is marked in one line naming it; peak RSS ≤ 1 GB`, async () => {
  let all: ModelSummary[] = [];
  const byUri = (): Map<string, ModelSummary> => new Map(all.map((m) => [m.uri, m]));
  while (!good.every((g) => byUri().get(fileUri(g))?.state === 'ready')) {
    assert.ok(Date.now() - started <= WITHIN_MS, `after ${WITHIN_MS / 1000} s: ${JSON.stringify(all.map((m) => [m.uri.split('/').pop(), m.state]))}`);
    await new Promise((r) => setTimeout(r, 50));
    all = await models();
  }
  const readyAfter = Date.now() - started;
  await lsp.quiescent(0);
  all = await models();
  for (const h of hostile) {
    const e = byUri().get(fileUri(h));
    assert.equal(e?.state, 'error', `${h}: ${JSON.stringify(e)}`);
    const d = lsp.diagnostics.get(fileUri(h)) ?? [];
    assert.equal(d.length, 1, `${h}: one diagnostic`);
    const message = typeof d[0].message === 'string' ? d[0].message : d[0].message.value;
    assert.ok(message.includes(h) && !message.includes('\n'), message);
  }
  for (const f of fifos) {
    const e = byUri().get(fileUri(f));
    assert.ok(e === undefined || e.state === 'error', `${f}: ${JSON.stringify(e)}`);
  }
  const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${lsp.proc.pid}/status`, 'utf8'))?.[1]);
  assert.ok(hwm <= MAX_RSS_KB, `server peak RSS ${(hwm / 1024).toFixed(0)} MiB`);
  assert.equal(lsp.proc.exitCode, null, 'the server is still running');
  console.log(`good models ready after ${readyAfter} ms; server peak RSS ${(hwm / 1024).toFixed(0)} MiB`);
});
