// Which failed requests the client lets go quietly (client/serverGone.ts): those a dying
// server leaves pending, as the real JSON-RPC connection rejects them; not a real refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { sendAcrossRestarts } from '../../client/acrossRestarts.js';
import { serverGone } from '../../client/serverGone.js';
import { analysisRequest, modelsRequest } from '../../shared/protocol.js';
import { tempDir } from '../helpers/cli.js';
import { fileUri, LspSession } from '../lsp/lspClient.js';

test('a request pending when the server dies is "server gone"; a request the server refuses is not', async () => {
  const lsp = await LspSession.start(tempDir(), {});
  await lsp.quiescent(0);
  // A refusal from a live server: reported to the user as it is.
  const refused = await lsp.connection.sendRequest(analysisRequest, { uri: fileUri('/nonexistent/model.onnx') }).then(() => undefined, (e: unknown) => e);
  assert.ok(refused instanceof Error, 'the server refuses a missing model');
  assert.equal(serverGone(refused), false);
  // The server dies with a request pending; the client disposes the connection, as vscode-languageclient does.
  const pending = lsp.connection.sendRequest(modelsRequest).then(() => undefined, (e: unknown) => e);
  lsp.proc.kill('SIGKILL');
  lsp.connection.dispose();
  const gone = await pending;
  assert.match((gone as Error).message, /Pending response rejected since connection got disposed/);
  assert.equal(serverGone(gone), true);
  assert.equal(serverGone(new Error('Pending response rejected since connection got disposed')), false, 'by code, not wording');
});

test('a panel\'s analysis request lost with its server is sent again to the restarted one; other failures and cancellation end it', async () => {
  const folder = tempDir();
  for (const f of ['model.json', 'weights.bin']) copyFileSync(join('examples/fashion-mnist', f), join(folder, f));
  const model = join(folder, 'model.json');
  let lsp = await LspSession.start(folder, {});
  const never = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose: () => undefined }) };
  let restarts = 0;
  // What the extension's restart policy does: a new server over a new connection.
  const runningAgain = async (): Promise<void> => { restarts++; lsp = await LspSession.start(folder, {}); };
  try {
    const analysis = sendAcrossRestarts(() => lsp.connection.sendRequest(analysisRequest, { uri: fileUri(model) }), runningAgain, never);
    // The server dies while the analysis is pending.
    lsp.proc.kill('SIGKILL');
    lsp.connection.dispose();
    const a = await analysis;
    assert.equal(restarts, 1);
    assert.deepEqual(a.layers.map((l) => l.name), ['dense_1', 'dense_2', 'logits']);
    // A refusal is not retried.
    await assert.rejects(sendAcrossRestarts(() => lsp.connection.sendRequest(analysisRequest, { uri: fileUri('/nonexistent/model.onnx') }), runningAgain, never), /nonexistent/);
    assert.equal(restarts, 1);
    // Cancelled while waiting for a server that stays stopped: the failure comes back.
    const dead = lsp;
    const stopped = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose: () => undefined }) };
    const waiting = sendAcrossRestarts(() => dead.connection.sendRequest(modelsRequest), async () => { stopped.isCancellationRequested = true; }, stopped);
    dead.proc.kill('SIGKILL');
    dead.connection.dispose();
    await assert.rejects(waiting, (e: unknown) => serverGone(e));
  } finally {
    lsp.proc.kill();
    lsp.connection.dispose();
  }
});
