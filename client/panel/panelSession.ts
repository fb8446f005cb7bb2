// One open panel (custom editor or command-opened) bound to one model: feeds its webview
// the analysis and status, and acts on what the webview asks for.
import * as vscode from 'vscode';
import type { Analysis } from '../../core/analysis.js';
import type { CompressReport } from '../../core/compress/report.js';
import type { HostToPanel, PanelStatus, PanelToHost, PlanFile } from '../../shared/panelProtocol.js';
import { COMMANDS, type CompressArgs } from '../../shared/protocol.js';
import { makeNonce, panelHtml } from './html.js';
import { exportPlan } from './planFile.js';

/** Asks the language server for a model's analysis. */
export type FetchAnalysis = (uri: string, token: vscode.CancellationToken) => Promise<Analysis>;

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  // The bundle is all the page loads, so dist/ is the only folder it may read.
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')] };
}

export class PanelSession implements vscode.Disposable {
  private ready = false;
  private analysis?: Analysis;
  private status: PanelStatus = {};
  private pendingLayer?: string;
  private error?: string;
  /** Compressions run from this panel, oldest first: a reloaded page gets them back. */
  private readonly reports: CompressReport[] = [];
  private readonly cancel = new vscode.CancellationTokenSource();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly model: vscode.Uri,
    extensionUri: vscode.Uri,
    fetch: FetchAnalysis,
  ) {
    const { webview } = panel;
    webview.options = webviewOptions(extensionUri);
    webview.html = panelHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js')).toString(),
      nonce: makeNonce(),
    });
    this.subscriptions.push(webview.onDidReceiveMessage((m: PanelToHost) => this.receive(m)));
    this.status = { progress: 0, label: 'queued' };
    fetch(model.toString(), this.cancel.token).then(
      (analysis) => { this.analysis = analysis; this.status = { engine: this.status.engine }; this.sendAnalysis(); },
      (e: unknown) => {
        if (this.cancel.token.isCancellationRequested) return;
        this.error = errorText(e);
        this.post({ type: 'error', message: this.error });
      },
    );
  }

  /** Progress and engine as the server reports them. */
  setStatus(status: PanelStatus): void {
    this.status = this.analysis ? { engine: status.engine ?? this.status.engine } : { ...this.status, ...status };
    this.post({ type: 'status', status: this.status });
  }

  selectLayer(layer: string): void {
    this.pendingLayer = layer;
    this.post({ type: 'select', layer });
  }

  private receive(message: PanelToHost): void {
    switch (message.type) {
      case 'ready':
        // A (re)loaded page has nothing: give it everything known so far.
        this.ready = true;
        this.post({ type: 'status', status: this.status });
        if (this.pendingLayer) this.post({ type: 'select', layer: this.pendingLayer });
        if (this.error) this.post({ type: 'error', message: this.error });
        this.sendAnalysis();
        for (const report of this.reports) this.post({ type: 'report', report });
        break;
      case 'compress':
        void this.compress(message.plan);
        break;
      case 'exportPlan':
        exportPlan(this.model, message.plan).catch((e: unknown) =>
          vscode.window.showErrorMessage(`Reducible: could not write the plan: ${errorText(e)}`));
        break;
    }
  }

  /** Runs the same job as the explorer command; when it resolves to its report, the panel shows it. */
  private async compress(plan: PlanFile): Promise<void> {
    const args: CompressArgs = { uri: this.model.toString(), plan, openReport: false };
    const report = await vscode.commands.executeCommand<CompressReport | undefined>(COMMANDS.compress, args);
    if (report && typeof report.compressedBytes === 'number') {
      this.reports.push(report);
      this.post({ type: 'report', report });
    }
  }

  private sendAnalysis(): void {
    if (this.analysis) this.post({ type: 'analysis', uri: this.model.toString(), analysis: this.analysis, engine: this.status.engine });
  }

  private post(message: HostToPanel): void {
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    this.cancel.cancel();
    this.cancel.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
