// `reducible.restartServer`: starts the language server again, e.g. after it died twice and
// the client left it stopped (restartPolicy.ts); it then gets its one automatic restart back.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { RestartPolicy } from '../restartPolicy.js';

export function restartServerCommand(client: LanguageClient, policy: RestartPolicy): vscode.Disposable {
  return vscode.commands.registerCommand('reducible.restartServer', async () => {
    policy.reset();
    await client.restart();
  });
}
