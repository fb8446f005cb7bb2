// The language server on the PyTorch engine (`reducible.engine: torch`, Debian's CPU torch):
// the worker reads every layer from the model files itself, and the spectra the server serves
// are the embedded engine's (`reducible analyze`) to the engines' contract.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { settingsForTrust } from '../../client/trustPolicy.js';
import type { Analysis } from '../../core/analysis.js';
import { analysisRequest, DEFAULT_SETTINGS, modelsRequest } from '../../shared/protocol.js';
import { cli, makeFixtures, tempDir } from '../helpers/cli.js';
import { PYTHON } from '../helpers/python.js';
import { fileUri, LspSession } from './lspClient.js';

const ws = tempDir('reducible-lsp-torch-');
mkdirSync(join(ws, 'fashion'));
copyFileSync('examples/fashion-mnist/model.json', join(ws, 'fashion', 'model.json'));
copyFileSync('examples/fashion-mnist/weights.bin', join(ws, 'fashion', 'weights.bin'));
copyFileSync(join(makeFixtures('test/fixtures/make_safetensors.py'), 'mlp-bfloat16.safetensors'), join(ws, 'mlp.safetensors'));
copyFileSync(join(makeFixtures('test/fixtures/make_onnx.py'), 'mlp.onnx'), join(ws, 'mlp.onnx'));

test('on the torch engine every model is analysed by the worker reading its files, with the embedded engine\'s spectra', { timeout: 180_000 }, async () => {
  const lsp = await LspSession.start(ws, { settings: settingsForTrust({ ...DEFAULT_SETTINGS, engine: 'torch', pythonPath: PYTHON }, true) });
  try {
    await lsp.quiescent(0);
    assert.match(lsp.statuses.at(-1)!.engine, /torch/);
    const models = await lsp.connection.sendRequest(modelsRequest, undefined);
    const paths = [join(ws, 'fashion', 'model.json'), join(ws, 'mlp.safetensors'), join(ws, 'mlp.onnx')];
    assert.deepEqual(models.map((m) => m.uri).sort(), paths.map(fileUri).sort());
    for (const path of paths) {
      const served = await lsp.connection.sendRequest(analysisRequest, { uri: fileUri(path) });
      const r = cli('analyze', path, '--json', '--engine', 'embedded');
      assert.equal(r.code, 0, r.stderr);
      const ref = JSON.parse(r.stdout) as Analysis;
      assert.deepEqual(served.layers.map((l) => [l.name, l.suggestedRank]), ref.layers.map((l) => [l.name, l.suggestedRank]), path);
      for (const [i, l] of ref.layers.entries()) {
        const s = served.layers[i].singularValues;
        for (let j = 0; j < l.singularValues.length; j++) assert.ok(Math.abs(s[j] - l.singularValues[j]) <= 1e-4 * l.singularValues[0], `${path} ${l.name} σ[${j}]`);
      }
    }
  } finally {
    await lsp.stop();
  }
});
