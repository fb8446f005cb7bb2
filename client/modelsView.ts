// Explorer "Models" view: every model the server found, with what low rank would remove.
import * as vscode from 'vscode';
import type { BaseLanguageClient } from 'vscode-languageclient';
import { formatBytes, formatCount } from '../core/text/numbers.js';
import { COMMANDS, modelsRequest, type ModelSummary } from '../shared/protocol.js';
import { serverGone } from './serverGone.js';
import type { ServerStatus } from './serverStatus.js';

export const MODELS_VIEW = 'reducible.models';
/** Context key listing model file paths, so explorer menus offer our commands on models only. */
const MODEL_FILES_KEY = 'reducible.modelFiles';

function describe(m: ModelSummary): string {
  const parts = [m.format, formatBytes(m.fileBytes)];
  if (m.totalParams !== undefined) parts.push(`${formatCount(m.totalParams)} params`);
  if (m.removable !== undefined) parts.push(`≈${Math.round(m.removable * 100)} % removable at ${+(m.energy * 100).toFixed(1)} % energy`);
  else parts.push(m.state === 'error' ? 'unreadable' : m.state === 'skipped' ? m.message ?? 'skipped' : 'analysing…');
  return parts.filter(Boolean).join(' · ');
}

function setModelFiles(models: ModelSummary[]): void {
  void vscode.commands.executeCommand('setContext', MODEL_FILES_KEY, models.map((m) => vscode.Uri.parse(m.uri).fsPath));
}

class ModelsProvider implements vscode.TreeDataProvider<ModelSummary> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly client: BaseLanguageClient) {}

  refresh(): void { this.changed.fire(); }

  async getChildren(element?: ModelSummary): Promise<ModelSummary[]> {
    if (element || !this.client.isRunning()) return [];
    let models: ModelSummary[];
    try {
      models = (await this.client.sendRequest(modelsRequest)).sort((a, b) => a.uri.localeCompare(b.uri));
    } catch (e) {
      // A restarted server's status refreshes the view.
      if (serverGone(e)) return [];
      throw e;
    }
    setModelFiles(models);
    return models;
  }

  getTreeItem(m: ModelSummary): vscode.TreeItem {
    const uri = vscode.Uri.parse(m.uri);
    const item = new vscode.TreeItem(vscode.workspace.asRelativePath(uri), vscode.TreeItemCollapsibleState.None);
    item.resourceUri = uri;
    item.description = describe(m);
    item.tooltip = m.message ?? `${uri.fsPath}\n${describe(m)}`;
    item.contextValue = m.state === 'ready' ? 'reducible.model.ready' : 'reducible.model';
    const icon = { error: 'error', ready: 'layers', skipped: 'circle-slash', pending: 'loading~spin', analysing: 'loading~spin' }[m.state];
    item.iconPath = new vscode.ThemeIcon(icon);
    item.command = { title: 'Open Tradeoff Panel', command: COMMANDS.openPanel, arguments: [{ uri: m.uri }] };
    return item;
  }
}

/** The view, and its `reducible.refreshModels` command's handler (registered in commands/index.ts). */
export interface ModelsView extends vscode.Disposable { refresh(): void }

export function modelsView(client: BaseLanguageClient, status: ServerStatus): ModelsView {
  const provider = new ModelsProvider(client);
  let seen = '';
  const view = vscode.window.createTreeView(MODELS_VIEW, { treeDataProvider: provider, showCollapseAll: false });
  const registrations = vscode.Disposable.from(
    view,
    // Redraw when a model finishes or a round ends, not on every progress tick.
    status.onDidChange((s) => {
      const key = `${s.quiescent}:${s.done}:${s.total}`;
      if (!s.quiescent && key === seen) return;
      seen = key;
      provider.refresh();
      // The explorer menus need the list even when this view was never opened (or is
      // collapsed): files are known as soon as discovery ends, long before analysis does.
      // A visible view fetches it itself on the refresh above.
      if (!view.visible && client.isRunning()) void client.sendRequest(modelsRequest).then(setModelFiles, () => undefined);
    }),
  );
  return { refresh: () => provider.refresh(), dispose: () => registrations.dispose() };
}
