// Every custom message between the Reducible language server (server/) and its clients
// (client/, webview via client, tests, other editors), typed once. Mirrors server/main.ts,
// which registers a handler for each constant here; nothing else defines these names.
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import type { Analysis } from '../core/analysis.js';
import type { StorageDType } from '../core/compress/types.js';
import type { ModelFormat } from '../core/types.js';
import type { CompressMethod } from './jobProtocol.js';

/** Settings the server reads, from `initializationOptions.settings` or `workspace/didChangeConfiguration` ({ reducible: … }). */
export interface ServerSettings {
  /** `reducible.engine`; the VS Code client sends 'embedded' in an untrusted workspace, so no Python starts there. */
  engine: string;
  /** Interpreter for the torch engine (`reducible.pythonPath`). */
  pythonPath?: string;
  /** Energy share the suggested ranks keep, in (0,1]. */
  energy: number;
  /** Model files bigger than this are listed but not analysed. */
  maxFileSizeMB: number;
  /** When false, files are only analysed on request (reducible/analysis). */
  autoRun: boolean;
}

export const DEFAULT_SETTINGS: ServerSettings = { engine: 'auto', energy: 0.99, maxFileSizeMB: 2048, autoRun: true };

export interface InitializationOptions {
  /** Folder where analyses are cached by content hash (the extension's storage folder). */
  storagePath?: string;
  settings?: Partial<ServerSettings>;
}

export type ModelState = 'pending' | 'analysing' | 'ready' | 'error' | 'skipped';

export interface ModelSummary {
  /** file: URI of the model's main file (model.json for TF.js). */
  uri: string;
  format?: ModelFormat;
  fileBytes: number;
  state: ModelState;
  /** Why the file is in state error/skipped. */
  message?: string;
  totalParams?: number;
  /** Share of all parameters removable at the suggested ranks. */
  removable?: number;
  energy: number;
  /** True when the analysis was found in the content-hash cache (e.g. persisted by an earlier session), not computed. */
  fromCache?: boolean;
}

export const modelsRequest = new RequestType0<ModelSummary[], void>('reducible/models');

export interface AnalysisParams { uri: string }
/** The full analysis of one model; waits for it when it is queued or running. Error when the file is not a model. */
export const analysisRequest = new RequestType<AnalysisParams, Analysis, void>('reducible/analysis');

export interface OutlineParams { uri: string }
export interface OutlineResult { text: string }
/** The read-only text outline of a (usually binary) model, shown as a `reducible-outline:` document. */
export const outlineRequest = new RequestType<OutlineParams, OutlineResult, void>('reducible/outline');

/** The scheme of outline documents; their path is the model file's path. */
export const OUTLINE_SCHEME = 'reducible-outline';

export interface StatusParams {
  /** True when nothing is queued or running. */
  quiescent: boolean;
  /** Models analysed (or failed) of those queued in this round. */
  done: number;
  total: number;
  /** File being analysed and its progress in [0,1]. */
  current?: { uri: string; fraction: number; layer: string };
  engine: string;
  message?: string;
}
export const statusNotification = new NotificationType<StatusParams>('reducible/status');

/**
 * How the factors are made, as the panel offers it (shared/jobProtocol.ts lists them): plain
 * SVD, whitened SVD (`--method whitened`), whitened SVD then fine-tuning (`--finetune`) — both
 * learn from `reducible.calibration.inputs` — or the DeepThin re-layout (`--method relayout`,
 * ONNX), which allocates its own ranks (on other matrices) to the parameters the panel's plan keeps.
 */
export type { CompressMethod };

/** Argument of the `reducible.compress` command (code actions, panel, explorer menu). */
export interface CompressArgs {
  uri: string;
  /** Absent: plain SVD. */
  method?: CompressMethod;
  /** Explicit ranks by layer name (`--ranks plan.json`). */
  plan?: { layers: Record<string, number> };
  /**
   * Precision of the factors (`--dtype`), chosen by the caller: the command does not ask.
   * 'stored' keeps each tensor's own precision, as the CLI does without `--dtype`.
   */
  dtype?: StorageDType | 'stored';
  /** Keep this fraction of the parameters (`--ratio`). */
  ratio?: number;
  /** Ask the user for the ratio, starting from `ratio`. */
  askRatio?: boolean;
  /**
   * The model's analysis as the server holds it (the panel's): the job plans on its spectra
   * instead of computing them again (CompressRequest.analysis).
   */
  analysis?: Analysis;
  /**
   * False when the caller shows the report itself (the panel): opening report.json in the
   * panel's editor group would hide the panel, and a hidden webview receives no messages.
   */
  openReport?: boolean;
}

/** Argument of the `reducible.openPanel` command (code lenses). */
export interface OpenPanelArgs {
  uri: string;
  layer?: string;
}

/** Argument of `reducible.chooseTorchModule` from a code lens on Python training code: the checkpoint (URI), and the file (URI) whose functions and classes are offered. */
export interface ChooseModuleArgs {
  model: string;
  file: string;
}

export const COMMANDS = {
  compress: 'reducible.compress',
  openPanel: 'reducible.openPanel',
  openOutline: 'reducible.openOutline',
  chooseTorchModule: 'reducible.chooseTorchModule',
} as const;
