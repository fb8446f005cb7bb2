// The command table: every command the extension contributes is registered here, by the
// name its id has in ids.ts, and nowhere else.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { Config } from '../config.js';
import type { ModelsView } from '../modelsView.js';
import type { TradeoffPanel } from '../panel/panel.js';
import type { RestartPolicy } from '../restartPolicy.js';
import type { TorchModules } from '../torchModules.js';
import { compressCommand } from './compress.js';
import { COMMAND_IDS, type CommandName } from './ids.js';
import { openOutline } from './openOutline.js';
import type { ChooseModuleArgs } from '../../shared/protocol.js';
import { restartServer } from './restartServer.js';

/** What the commands act on: the live parts of the extension. */
export interface CommandContext {
  extension: vscode.ExtensionContext;
  config: Config;
  client: LanguageClient;
  restartPolicy: RestartPolicy;
  models: ModelsView;
  panel: TradeoffPanel;
  torchModules: TorchModules;
}

type Handler = Parameters<typeof vscode.commands.registerCommand>[1];

export function registerCommands(c: CommandContext): vscode.Disposable {
  const handlers: Record<CommandName, Handler> = {
    compress: compressCommand(c.extension, c.config, c.torchModules),
    openPanel: (arg) => c.panel.open(arg),
    openOutline,
    restartServer: restartServer(c.client, c.restartPolicy),
    refreshModels: () => c.models.refresh(),
    // From the explorer (a model's URI), the palette (the active editor's), or a code lens on training code (ChooseModuleArgs).
    chooseTorchModule: async (arg?: vscode.Uri | ChooseModuleArgs) => {
      if (arg && !(arg instanceof vscode.Uri)) { await c.torchModules.choose(vscode.Uri.parse(arg.model), vscode.Uri.parse(arg.file)); return; }
      const model = arg ?? vscode.window.activeTextEditor?.document.uri;
      if (model) await c.torchModules.choose(model);
    },
  };
  return vscode.Disposable.from(
    ...Object.entries(handlers).map(([name, run]) => vscode.commands.registerCommand(COMMAND_IDS[name as CommandName], run)),
  );
}
