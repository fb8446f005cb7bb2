// Typed view of the `reducible.*` settings (client/settings.ts lists them; package.json
// `contributes.configuration` declares them and their defaults).
import { isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';
import type { ServerSettings } from '../shared/protocol.js';
import { settingsForTrust } from './trustPolicy.js';
import type { EvalData } from './compressJob.js';
import type { SettingName, Settings } from './settings.js';

export const SECTION = 'reducible';

export class Config {
  /** A setting's value: the user's, else package.json's default, which every setting has. */
  private setting<K extends SettingName>(name: K, scope?: vscode.Uri): Settings[K] {
    return vscode.workspace.getConfiguration(SECTION, scope).get<Settings[K]>(name)!;
  }

  get engine(): string { return this.setting('engine'); }
  get energy(): number { return this.setting('energy'); }
  get maxFileSizeMB(): number { return this.setting('maxFileSizeMB'); }
  get autoRun(): boolean { return this.setting('analysis.autoRun'); }

  /** The interpreter for the PyTorch engine: our setting, else the Python extension's default. */
  get pythonPath(): string | undefined {
    return this.setting('pythonPath') || vscode.workspace.getConfiguration('python').get<string>('defaultInterpreterPath') || undefined;
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

  private dataPath(model: vscode.Uri, name: 'evaluation.inputs' | 'evaluation.labels' | 'calibration.inputs'): string | undefined {
    const spec = this.setting(name, model).trim();
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
