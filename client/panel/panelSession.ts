// One open panel (custom editor or command-opened) bound to one model: feeds its webview
// the analysis and status, and acts on what the webview asks for.
import * as vscode from 'vscode';
import type { Analysis } from '../../core/analysis.js';
import type { CompressReport } from '../../core/compress/report.js';
import type { CompressMethod, EvalReport, HostToPanel, PanelEvaluation, PanelStatus, PanelToHost, PlanFile } from '../../shared/panelProtocol.js';
import { COMMANDS, type CompressArgs } from '../../shared/protocol.js';
import { makeNonce, panelHtml } from './html.js';
import { exportPlan } from './planFile.js';

/** Asks the language server for a model's analysis. */
export type FetchAnalysis = (uri: string, token: vscode.CancellationToken) => Promise<Analysis>;

/** Compares a compressed file with its original (`reducible evaluate`), off the extension host's thread. */
export type EvaluateOutput = (model: vscode.Uri, output: string, signal: AbortSignal) => Promise<EvalReport>;

/** How long Compress waits for the server's analysis before the job computes the spectra itself. */
const ANALYSIS_AT_HAND_MS = 2000;

/** A compression run from the panel and what its evaluation found so far. */
interface Compression { report: CompressReport; evaluation: PanelEvaluation }

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
  private readonly compressions: Compression[] = [];
  private readonly cancel = new vscode.CancellationTokenSource();
  /** Stops running evaluations when the panel closes. */
  private readonly abort = new AbortController();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly model: vscode.Uri,
    extensionUri: vscode.Uri,
    private readonly fetch: FetchAnalysis,
    private readonly evaluate: EvaluateOutput,
    /** Whether a module that runs the model is known (torchModules.ts): then its format's capabilities with one apply. */
    private readonly moduleKnown: () => boolean = () => false,
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
        for (const { report, evaluation } of this.compressions) {
          this.post({ type: 'report', report });
          this.post({ type: 'evaluation', output: report.output, evaluation });
        }
        break;
      case 'compress':
        void this.compress(message.plan, message.method, message.keep);
        break;
      case 'exportPlan':
        exportPlan(this.model, message.plan).catch((e: unknown) =>
          vscode.window.showErrorMessage(`Reducible: could not write the plan: ${errorText(e)}`));
        break;
    }
  }

  /**
   * Runs the same job as the explorer command with the panel's ranks and precision; when it
   * resolves to its report, the panel shows it, then what evaluating the output measured.
   */
  private async compress(plan: PlanFile, method: CompressMethod, keep: number): Promise<void> {
    // No precision chosen in the panel: the factors keep the model's (a bf16 model's stay bf16).
    // A re-layout's ranks are of other matrices: it gets the plan's budget, not its ranks.
    const goal = method === 'relayout' ? { ratio: keep } : { plan };
    const analysis = await this.currentAnalysis();
    const args: CompressArgs = { uri: this.model.toString(), ...goal, method, dtype: plan.dtype ?? 'stored', openReport: false, analysis };
    const report = await vscode.commands.executeCommand<CompressReport | undefined>(COMMANDS.compress, args);
    if (!report || typeof report.compressedBytes !== 'number') return;
    const compression: Compression = { report, evaluation: { state: 'running' } };
    this.compressions.push(compression);
    this.post({ type: 'report', report });
    const settle = (evaluation: PanelEvaluation): void => {
      compression.evaluation = evaluation;
      this.post({ type: 'evaluation', output: report.output, evaluation });
    };
    settle({ state: 'running' });
    await this.evaluate(this.model, report.output, this.abort.signal).then(
      (result) => settle({ state: 'done', report: result }),
      (e: unknown) => { if (!this.abort.signal.aborted) settle({ state: 'failed', message: errorText(e) }); },
    );
  }

  /**
   * The server's analysis of the model as the file is now, if it has one at hand: the job plans
   * on its spectra instead of computing them again. The server re-analyses a file that changed
   * (this panel's copy may be of the old one); one it is still analysing is not waited for.
   */
  private async currentAnalysis(): Promise<Analysis | undefined> {
    const cancel = new vscode.CancellationTokenSource();
    const timer = setTimeout(() => cancel.cancel(), ANALYSIS_AT_HAND_MS);
    try {
      return await this.fetch(this.model.toString(), cancel.token);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
      cancel.dispose();
    }
  }

  private sendAnalysis(): void {
    const a = this.analysis;
    // The methods offered come from the format's table: with a known module, what it can do with one.
    const analysis = a?.withModule && this.moduleKnown() ? { ...a, capabilities: a.withModule } : a;
    if (analysis) this.post({ type: 'analysis', uri: this.model.toString(), analysis, engine: this.status.engine });
  }

  private post(message: HostToPanel): void {
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    this.abort.abort();
    this.cancel.cancel();
    this.cancel.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
