// The end-to-end scenarios, written against the VS Code API from inside the extension host.
// The fixture workspace and extension id come from the runner through the environment.
import * as vscode from 'vscode';
import assert from 'node:assert/strict';
import type { FixtureWorkspace } from '../../e2e/fixtureWorkspace.js';

const fixture = JSON.parse(process.env.REDUCIBLE_FIXTURE ?? 'null') as FixtureWorkspace;
const extensionId = process.env.REDUCIBLE_EXTENSION_ID ?? '';

export interface Scenario { name: string; run(): Promise<void> }

function fileUri(rel: string): vscode.Uri {
  return vscode.Uri.joinPath(vscode.Uri.file(fixture.dir), rel);
}

/** Polls `probe` until it returns a value, for results the language server computes in the background. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function hoverText(h: vscode.Hover): string {
  return h.contents.map((c) => (typeof c === 'string' ? c : c.value)).join('\n');
}

export const scenarios: Scenario[] = [
  {
    name: 'the extension is installed and activates',
    async run() {
      assert.ok(fixture, 'REDUCIBLE_FIXTURE is not set; run through test/electron/runner.ts');
      const ext = vscode.extensions.getExtension(extensionId);
      assert.ok(ext, `${extensionId} is not among the installed extensions`);
      await ext.activate();
      assert.ok(ext.isActive);
    },
  },
  {
    name: 'hovering a layer in model.json shows the rank hint',
    async run() {
      const doc = await vscode.workspace.openTextDocument(fileUri(fixture.tfjsModel));
      await vscode.window.showTextDocument(doc);
      const at = doc.getText().indexOf(`"${fixture.denseLayer}"`);
      assert.ok(at >= 0, `${fixture.denseLayer} not in ${fixture.tfjsModel}`);
      const position = doc.positionAt(at + 2);
      const text = await eventually('a rank hint hover', async () => {
        const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, position);
        const t = hovers.map(hoverText).join('\n');
        return /break-even rank/i.test(t) ? t : undefined;
      });
      assert.match(text, /suggested rank/i);
    },
  },
];
