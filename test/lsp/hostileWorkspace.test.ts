// The language server with hostile files in the workspace (issue 20): decompression bombs (a
// gzip-filtered HDF5 kernel of 1 GiB, a .keras and a PyTorch zip whose deflated entries
// declare 1 GiB), HDF5 files linking outside their folder, FIFOs named like models, and FIFOs
// where a good-looking model names one of its files (a TF.js weight file, a safetensors shard,
// ONNX external data): opening a FIFO for reading waits for a writer, and the server analyses
// one model at a time, so one blocking open would stall every model after it. The other models
// are analysed within 10 s of start, each hostile model ends marked with one line naming the
// file at fault (a FIFO named like a model is no model file, so it may also go unlisted), the
// server's peak RSS (with any process it started) stays within 1 GB, and it keeps running.
// Real dist/server.js over stdio, real LSP client.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { modelsRequest, type ModelSummary } from '../../shared/protocol.js';
import { makeFixtures, tempDir } from '../helpers/cli.js';
import { PYTHON } from '../helpers/python.js';
import { fileUri, LspSession } from './lspClient.js';

const GOOD = 12;
const WITHIN_MS = 10_000;
const MAX_RSS_KB = 1024 * 1024;

const ws = tempDir('reducible-hostile-ws-');
const good = Array.from({ length: GOOD }, (_, i) => join(ws, `good-${String(i).padStart(2, '0')}.safetensors`));
/** Hostile models, and the file each one's refusal must name (the model itself, or its FIFO part). */
const hostile: { model: string; names: string }[] = [];
const fifos = [join(ws, 'pipe.safetensors'), join(ws, 'pipe.onnx'), join(ws, 'pipe.h5')];
/** A good TF.js model with FIFOs where its saved plans would be (plan.json, model.plan.json), read for its layer diagnostics. */
const planned = join(ws, 'tfjs-fifo-plans', 'model.json');
let lsp: LspSession;
let started = 0;

const mkfifo = (path: string): void => assert.equal(spawnSync('mkfifo', [path]).status, 0, `mkfifo ${path}`);

/** A copy of the model in `from` (its main file `main`) in a folder of its own, with its file `part` swapped for a FIFO. */
function withFifoPart(from: string, main: string, part: string, folder: string): void {
  const dir = join(ws, folder);
  mkdirSync(dir);
  // The main file and its sibling weight files (the fixture folders hold other models too; unnamed ones stay out).
  for (const f of readdirSync(from)) if (f === main || /\.(safetensors|data|bin)$/.test(f)) copyFileSync(join(from, f), join(dir, f));
  rmSync(join(dir, part), { force: true });
  mkfifo(join(dir, part));
  hostile.push({ model: join(dir, main), names: join(dir, part) });
}

before(async () => {
  const st = makeFixtures('test/fixtures/make_safetensors.py');
  for (const g of good) copyFileSync(join(st, 'mlp-float32.safetensors'), g);
  const archives = makeFixtures('test/robustness/make_hostile_archives.py');
  const hdf5 = tempDir();
  const made = spawnSync(PYTHON, ['test/robustness/make_hostile_hdf5.py', makeFixtures('test/fixtures/make_keras.py'), hdf5], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const take = (from: string, name: string): void => { const to = join(ws, name); copyFileSync(from, to); hostile.push({ model: to, names: to }); };
  take(join(hdf5, 'models', 'bomb.h5'), 'bomb.h5');
  take(join(hdf5, 'models', 'extlink.h5'), 'extlink.h5');
  take(join(hdf5, 'models', 'vds.keras'), 'vds.keras');
  take(join(archives, 'entry_bomb.pt'), 'entry_bomb.pt');
  take(join(archives, 'keras_stream_bomb.keras'), 'keras_stream_bomb.keras');
  for (const f of fifos) mkfifo(f);
  withFifoPart('examples/digits', 'model.json', 'weights.bin', 'tfjs-fifo-weights');
  mkdirSync(join(planned, '..'));
  for (const f of ['model.json', 'weights.bin']) copyFileSync(join('examples/digits', f), join(planned, '..', f));
  for (const f of ['plan.json', 'model.plan.json']) mkfifo(join(planned, '..', f));
  withFifoPart(makeFixtures('test/fixtures/make_safetensors_shards.py'), 'model.safetensors.index.json', 'model-00002-of-00002.safetensors', 'fifo-shard');
  withFifoPart(makeFixtures('test/fixtures/make_onnx.py'), 'external.onnx', 'external.onnx.data', 'onnx-fifo-data');
  started = Date.now();
  // At 80 % energy the digits model's layers are worth factorising, so it gets layer diagnostics (the ones its plan would add to).
  lsp = await LspSession.start(ws, { settings: { energy: 0.8 } });
});
// The test stops the server itself, and fails if it does not exit; one left running is killed here.
after(() => { if (lsp?.proc.exitCode === null && lsp.proc.signalCode === null) lsp.proc.kill('SIGKILL'); });

const models = (): Promise<ModelSummary[]> => lsp.connection.sendRequest(modelsRequest, undefined);

/** `p`, or a failure saying `what` once `deadline` (by default WITHIN_MS after the server started) has passed. */
async function withinBound<T>(p: Promise<T>, what: string, deadline = started + WITHIN_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} by ${new Date(deadline).toISOString()}`)), Math.max(0, deadline - Date.now())); });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Peak RSS (VmHWM) of a process and every live process under it, in kB: a sum, so never below the true joint peak. */
function peakRssKb(pid: number): number {
  const own = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  const children = readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
  return children.reduce((sum, c) => sum + peakRssKb(c), own);
}

test(`with bombs, links out of the folder and FIFOs beside and inside models, ${GOOD} models are analysed within 10 s; each hostile model is marked in one line naming the file at fault; peak RSS ≤ 1 GB`, async () => {
  let all: ModelSummary[] = [];
  const byUri = (): Map<string, ModelSummary> => new Map(all.map((m) => [m.uri, m]));
  while (!good.every((g) => byUri().get(fileUri(g))?.state === 'ready')) {
    assert.ok(Date.now() - started <= WITHIN_MS, `after ${WITHIN_MS / 1000} s: ${JSON.stringify(all.map((m) => [m.uri.split('/').pop(), m.state]))}`);
    await new Promise((r) => setTimeout(r, 50));
    all = await models();
  }
  const readyAfter = Date.now() - started;
  // Every hostile model settles too (the FIFO parts stall nothing), within the same bound.
  await withinBound(lsp.quiescent(0), 'not quiescent');
  // Its layer diagnostics are published: reading its plans never waits on a FIFO.
  await withinBound(lsp.until(() => lsp.diagnostics.get(fileUri(planned))?.some((d) => d.code === 'low-rank') || undefined), `${planned}: no layer diagnostics`);
  const settledAfter = Date.now() - started;
  all = await models();
  assert.equal(byUri().get(fileUri(planned))?.state, 'ready', planned);
  for (const { model, names } of hostile) {
    const e = byUri().get(fileUri(model));
    assert.equal(e?.state, 'error', `${model}: ${JSON.stringify(e)}`);
    const d = lsp.diagnostics.get(fileUri(model)) ?? [];
    assert.equal(d.length, 1, `${model}: one diagnostic`);
    const message = typeof d[0].message === 'string' ? d[0].message : d[0].message.value;
    assert.ok(message.includes(model) && !message.includes('\n'), `${model}: ${message}`);
    // A part is named as its model names it (TF.js: "weight file weights.bin"), so by its file name.
    if (names !== model) assert.ok(message.includes(basename(names)) && /not a regular file \(a FIFO\)/.test(message), `${model}: ${message}`);
  }
  for (const f of fifos) {
    const e = byUri().get(fileUri(f));
    assert.ok(e === undefined || e.state === 'error', `${f}: ${JSON.stringify(e)}`);
  }
  const hwm = peakRssKb(lsp.proc.pid!);
  assert.ok(hwm <= MAX_RSS_KB, `server peak RSS ${(hwm / 1024).toFixed(0)} MiB`);
  assert.equal(lsp.proc.exitCode, null, 'the server is still running');
  // And it exits when asked: no thread of its is left waiting on a FIFO (Node waits for them at exit).
  await withinBound(lsp.stop(), 'the server did not exit when asked', Date.now() + 5000);
  console.log(`good models ready after ${readyAfter} ms, every model settled after ${settledAfter} ms; server peak RSS ${(hwm / 1024).toFixed(0)} MiB`);
});
