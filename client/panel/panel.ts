// The tradeoff panel's registrations: the read-only custom editor for binary model files,
// the serializer that brings command-opened panels back after a window reload, and the
// routing of the server's status to open panels; and the `reducible.openPanel` command's
// handler (registered with the others in commands/index.ts).
import * as vscode from 'vscode';
import { State, type BaseLanguageClient } from 'vscode-languageclient';
import type { PanelViewState } from '../../shared/panelProtocol.js';
import { analysisRequest, statusNotification, type OpenPanelArgs, type StatusParams } from '../../shared/protocol.js';
import { sendAcrossRestarts, type Cancellable } from '../acrossRestarts.js';
import { runEvaluate } from '../compressJob.js';
import type { Config } from '../config.js';
import type { TorchModules } from '../torchModules.js';
import { PanelSession, webviewOptions, type EvaluateOutput, type FetchAnalysis } from './panelSession.js';

export const CUSTOM_EDITOR_VIEW_TYPE = 'reducible.modelPanel';
export const PANEL_VIEW_TYPE = 'reducible.tradeoffPanel';

export interface TradeoffPanel extends vscode.Disposable {
  /** `reducible.openPanel`: the panel of a model (an explorer Uri, a code lens's args, or the active tab's file). */
  open(arg?: vscode.Uri | OpenPanelArgs): void;
}

export function registerTradeoffPanel(context: vscode.ExtensionContext, client: BaseLanguageClient, config: Config, modules: TorchModules): TradeoffPanel {
  /** Settles when the client next reaches Running (a restarted server), or the token is cancelled. */
  const runningAgain = (token: Cancellable): Promise<void> => new Promise((resolve) => {
    const done = (): void => { running.dispose(); cancelled.dispose(); resolve(); };
    const running = client.onDidChangeState((e) => { if (e.newState === State.Running) done(); });
    const cancelled = token.onCancellationRequested(done);
  });
  const fetch: FetchAnalysis = (uri, token) => sendAcrossRestarts(() => client.sendRequest(analysisRequest, { uri }, token), runningAgain, token);
  // The `reducible evaluate` CLI in a child process, on the data the settings name.
  const evaluate: EvaluateOutput = (model, output, signal) =>
    runEvaluate(context.asAbsolutePath('dist/cli.js'), model.fsPath, output, { ...config.evaluationData(model), torchModel: modules.get(model), python: config.pythonPath }, { signal });
  const sessions = new Set<PanelSession>();
  let engine: string | undefined;

  const track = (panel: vscode.WebviewPanel, model: vscode.Uri): PanelSession => {
    const session = new PanelSession(panel, model, context.extensionUri, fetch, evaluate, () => modules.get(model) !== undefined);
    if (engine) session.setStatus({ engine });
    sessions.add(session);
    panel.onDidDispose(() => { sessions.delete(session); session.dispose(); });
    return session;
  };

  const open = (arg?: vscode.Uri | OpenPanelArgs): void => {
    const model = modelUri(arg);
    if (!model) {
      void vscode.window.showWarningMessage('Reducible: open a model file first, or pick one in the Models view.');
      return;
    }
    const layer = arg && !(arg instanceof vscode.Uri) ? arg.layer : undefined;
    const existing = [...sessions].find((s) => s.panel.viewType === PANEL_VIEW_TYPE && s.model.toString() === model.toString());
    const session = existing ?? track(vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, panelTitle(model),
      vscode.ViewColumn.Active, webviewOptions(context.extensionUri)), model);
    session.panel.reveal();
    if (layer) session.selectLayer(layer);
  };

  const onStatus = (status: StatusParams): void => {
    engine = status.engine;
    for (const s of sessions) {
      const mine = status.current?.uri === s.model.toString();
      s.setStatus(mine
        ? { engine, progress: status.current!.fraction, label: status.current!.layer }
        : { engine, progress: status.quiescent ? undefined : 0, label: status.quiescent ? undefined : 'queued' });
    }
  };

  const editor: vscode.CustomReadonlyEditorProvider = {
    openCustomDocument: (uri) => ({ uri, dispose: () => undefined }),
    resolveCustomEditor: (document, panel) => { track(panel, document.uri); },
  };

  const registrations = vscode.Disposable.from(
    vscode.window.registerCustomEditorProvider(CUSTOM_EDITOR_VIEW_TYPE, editor, {
      supportsMultipleEditorsPerDocument: true,
    }),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: PanelViewState | undefined) => {
        if (state?.uri) track(panel, vscode.Uri.parse(state.uri));
        else panel.dispose();
      },
    }),
    client.onNotification(statusNotification, onStatus),
  );
  return { open, dispose: () => registrations.dispose() };
}

/** The model a command invocation means: an explorer Uri, a code lens's args, or the active tab's file. */
function modelUri(arg: vscode.Uri | OpenPanelArgs | undefined): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (arg?.uri) return vscode.Uri.parse(arg.uri);
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return tab instanceof vscode.TabInputText || tab instanceof vscode.TabInputCustom ? tab.uri : undefined;
}

function panelTitle(model: vscode.Uri): string {
  return `Reducible: ${model.path.split('/').pop() ?? model.path}`;
}
