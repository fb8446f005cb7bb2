// Pushes settings to the server on change and when the workspace becomes trusted. Done by
// hand rather than by `synchronize.configurationSection`, which would send the raw section
// and bypass the restricted-mode engine. A `files.exclude` change is announced the same way:
// the server reads that setting itself, per folder, with workspace/configuration.
import * as vscode from 'vscode';
import { DidChangeConfigurationNotification, type BaseLanguageClient } from 'vscode-languageclient';
import { SECTION, type Config } from './config.js';

export function settingsSync(client: BaseLanguageClient, config: Config): vscode.Disposable {
  const push = (): void => {
    if (!client.isRunning()) return;
    void client.sendNotification(DidChangeConfigurationNotification.type, { settings: { [SECTION]: config.serverSettings(vscode.workspace.isTrusted) } });
  };
  return vscode.Disposable.from(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (['files.exclude', SECTION, 'python.defaultInterpreterPath'].some((s) => e.affectsConfiguration(s))) push();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(push),
  );
}
