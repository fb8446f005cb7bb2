// Typed view of the `reducible.*` settings (declared in package.json `contributes.configuration`).
import { isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';
import type { ServerSettings } from '../shared/protocol.js';
import { settingsForTrust } from './trustPolicy.js';
import type { EvalData } from './compressJob.js';

export const SECTION = 'reducible';

export class Config {
  private get raw(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  get engine(): string { return this.raw.get<string>('engine', 'auto'); }
  get energy(): number { return this.raw.get<number>('energy', 0.99); }
  get maxFileSizeMB(): number { return this.raw.get<number>('maxFileSizeMB', 2048); }
  get autoRun(): boolean { return this.raw.get<boolean>('analysis.autoRun', true); }

  /** The interpreter for the PyTorch engine: our setting, else the Python extension's default. */
  get pythonPath(): string | undefined {
    return this.raw.get<string>('pythonPath') || vscode.workspace.getConfiguration('python').get<string>('defaultInterpreterPath') || undefined;
  }

  /**
   * `reducible.evaluation.inputs` / `.labels` for a model: relative paths are read from the
   * model's workspace folder; a `file.npz:key` suffix passes through to the CLI.
   */
  evaluationData(model: vscode.Uri): EvalData {
    return { inputs: this.dataPath(model, 'evaluation.inputs'), labels: this.dataPath(model, 'evaluation.labels') };
  }

  /** `reducible.calibration.inputs` for a model (read as the evaluation data is), if set. */
  calibrationData(model: vscode.Uri): string | undefined {
    return this.dataPath(model, 'calibration.inputs');
  }

  private dataPath(model: vscode.Uri, key: string): string | undefined {
    const spec = vscode.workspace.getConfiguration(SECTION, model).get<string>(key)?.trim();
    if (!spec) return undefined;
    const folder = vscode.workspace.getWorkspaceFolder(model)?.uri.fsPath;
    return isAbsolute(spec) || !folder ? spec : join(folder, spec);
  }

  /** What the server gets. Untrusted workspaces analyse with the embedded engine: no Python starts there (trustPolicy.ts). */
  serverSettings(trusted: boolean): ServerSettings {
    return settingsForTrust({
      engine: this.engine, pythonPath: this.pythonPath,
      energy: this.energy, maxFileSizeMB: this.maxFileSizeMB, autoRun: this.autoRun,
    }, trusted);
  }
}
