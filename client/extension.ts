// The extension host side: starts the language server (dist/server.js over stdio) and adds
// what LSP has no words for — the Models view, the compress job, outlines, the status bar.
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { OUTLINE_SCHEME, type InitializationOptions } from '../shared/protocol.js';
import { registerCommands } from './commands/index.js';
import { Config } from './config.js';
import { modelsView } from './modelsView.js';
import { outlineProvider } from './outlineProvider.js';
import { registerTradeoffPanel } from './panel/panel.js';
import { TorchModules } from './torchModules.js';
import { RestartPolicy } from './restartPolicy.js';
import { recoveringErrorHandler } from './serverRecovery.js';
import { ServerStatus } from './serverStatus.js';
import { settingsSync } from './settingsSync.js';
import { statusBar } from './statusBar.js';

let client: LanguageClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const config = new Config();
  const restartPolicy = new RestartPolicy();
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.stdio },
    debug: { module, transport: TransportKind.stdio, options: { execArgv: ['--inspect=6010'] } },
  };
  const initializationOptions: InitializationOptions = {
    // Analyses are cached by content, so one cache serves every workspace.
    storagePath: context.globalStorageUri.fsPath,
    settings: config.serverSettings(vscode.workspace.isTrusted),
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', pattern: '**/*.json' },
      { scheme: OUTLINE_SCHEME },
      { scheme: 'file', language: 'python' },
      { scheme: 'file', language: 'javascript' },
      { scheme: 'file', language: 'typescript' },
    ],
    initializationOptions,
    errorHandler: recoveringErrorHandler(restartPolicy),
  };
  client = new LanguageClient('reducible', 'Reducible', serverOptions, clientOptions);
  const status = new ServerStatus(client);
  const models = modelsView(client, status);
  const torchModules = new TorchModules(context.workspaceState);
  const panel = registerTradeoffPanel(context, status.sharedClient(client), config, torchModules);
  context.subscriptions.push(
    status,
    statusBar(status),
    models,
    panel,
    outlineProvider(client, status),
    registerCommands({ extension: context, config, client, restartPolicy, models, panel, torchModules }),
    settingsSync(client, config),
  );
  // Not awaited: activation ends as soon as everything is registered; the server starts
  // beside it (requests made meanwhile wait for it inside the client).
  client.start().catch((e: unknown) => client?.error('Reducible: the language server did not start', e, 'force'));
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
