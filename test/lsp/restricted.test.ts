// Restricted Mode (an untrusted workspace) through the real server: started with the settings
// the client sends there (client/trustPolicy.ts) while the user's settings ask for the PyTorch
// engine, it analyses every model but never starts Python — not the configured interpreter,
// not one on PATH — and writes nothing into the workspace. The same workspace, trusted, does
// start the configured interpreter: the check below can see a start when there is one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { settingsForTrust } from '../../client/trustPolicy.js';
import { DEFAULT_SETTINGS, modelsRequest, type ServerSettings } from '../../shared/protocol.js';
import { makeFixtures, tempDir } from '../helpers/cli.js';
import { LspSession } from './lspClient.js';

const ws = tempDir('reducible-restricted-ws-');
const bin = tempDir('reducible-restricted-bin-');
const ran = tempDir('reducible-restricted-ran-');
mkdirSync(join(ws, 'fashion'));
copyFileSync('examples/fashion-mnist/model.json', join(ws, 'fashion', 'model.json'));
copyFileSync('examples/fashion-mnist/weights.bin', join(ws, 'fashion', 'weights.bin'));
copyFileSync(join(makeFixtures('test/fixtures/make_safetensors.py'), 'mlp-float32.safetensors'), join(ws, 'mlp.safetensors'));
// Stand-in interpreters: each start leaves a mark, then fails as a Python without torch would.
for (const name of ['python', 'python3', 'configured-python']) {
  writeFileSync(join(bin, name), `#!/bin/sh\ntouch '${join(ran, name)}'\nexit 1\n`);
  chmodSync(join(bin, name), 0o755);
}
const userSettings: ServerSettings = { ...DEFAULT_SETTINGS, engine: 'torch', pythonPath: join(bin, 'configured-python') };

/** Every file below `dir` with its size and modification time. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((f) => {
    const s = statSync(join(dir, f));
    return `${f} ${s.size} ${s.mtimeMs}`;
  });
}

/** Starts the server with `settings`, stand-in interpreters first on its PATH; waits for its first round. */
async function serve(settings: ServerSettings): Promise<LspSession> {
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  try {
    const lsp = await LspSession.start(ws, { settings });
    await lsp.quiescent(0);
    return lsp;
  } finally {
    process.env.PATH = path;
  }
}

describe('Restricted Mode', () => {
  const before_ = listing(ws);
  let lsp: LspSession;
  before(async () => { lsp = await serve(settingsForTrust(userSettings, false)); });
  after(async () => { await lsp.stop(); });

  test('every model is analysed, no Python is started, nothing is written into the workspace', async () => {
    const models = await lsp.connection.sendRequest(modelsRequest, undefined);
    assert.deepEqual(models.map((m) => m.state).sort(), ['ready', 'ready']);
    assert.match(lsp.statuses.at(-1)!.engine, /embedded/);
    assert.deepEqual(readdirSync(ran), []);
    assert.deepEqual(listing(ws), before_);
  });
});

describe('the same workspace trusted (the check can see an interpreter start)', () => {
  test('the configured interpreter is started for the PyTorch engine', async () => {
    const lsp = await serve(settingsForTrust(userSettings, true));
    try {
      assert.ok(readdirSync(ran).includes('configured-python'), readdirSync(ran).join(', '));
    } finally {
      await lsp.stop();
    }
  });
});
