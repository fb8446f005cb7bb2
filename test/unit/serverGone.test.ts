// Which failed requests the client lets go quietly (client/serverGone.ts): those a dying
// server leaves pending, as the real JSON-RPC connection rejects them; not a real refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
