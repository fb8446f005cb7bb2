// Messages between the tradeoff panel's host (client/panel) and its webview (webview/).
// Both sides import these types; nothing else defines them.
import type { Analysis } from '../core/analysis.js';
import type { PlanFile } from '../core/compress/plan.js';
import type { CompressReport } from '../core/compress/report.js';
import type { StorageDType } from '../core/compress/types.js';
import type { EvalReport } from '../core/eval/evaluate.js';
import type { CompressMethod } from './jobProtocol.js';

/** The plan the panel exports and compresses with: `reducible compress --ranks plan.json`'s format. */
export type { PlanFile, StorageDType, EvalReport, CompressMethod };

/**
 * `reducible evaluate` of a panel compression's output against the original, run by the host
 * after the compression: on the `reducible.evaluation.*` data when set, else on inputs drawn
 * from the model's signature.
 */
export type PanelEvaluation =
  | { state: 'running' }
  | { state: 'done'; report: EvalReport }
  | { state: 'failed'; message: string };

/** Analysis progress and the engine doing the work, shown in the panel's header. */
export interface PanelStatus {
  engine?: string;
  /** Fraction done in [0,1]; absent once the analysis is complete. */
  progress?: number;
  label?: string;
}

export type HostToPanel =
  | { type: 'analysis'; uri: string; analysis: Analysis; engine?: string }
  | { type: 'status'; status: PanelStatus }
  /** Show this layer (a code lens opened the panel on it). */
  | { type: 'select'; layer: string }
  | { type: 'error'; message: string }
  /** What a compression started from the panel measured, to show beside the prediction. */
  | { type: 'report'; report: CompressReport }
  /** How the output of the report with this `output` compares with the original. */
  | { type: 'evaluation'; output: string; evaluation: PanelEvaluation };

export type PanelToHost =
  /** Sent once the webview listens, so the host never posts into the void. */
  | { type: 'ready' }
  /** `keep`: the fraction of parameters the plan keeps (a re-layout's budget). */
  | { type: 'compress'; plan: PlanFile; method: CompressMethod; keep: number }
  | { type: 'exportPlan'; plan: PlanFile };

/** What the webview keeps in `vscode.setState`, also read by the panel serializer after a reload. */
export interface PanelViewState {
  /** The model the panel shows, so a restored panel can ask for its analysis again. */
  uri?: string;
  goal: 'ratio' | 'energy';
  /** Fraction of parameters to keep (goal 'ratio'). */
  keep: number;
  /** Energy share to keep per layer (goal 'energy'). */
  energy: number;
  /** Storage precision of the factors Compress writes; absent until chosen: the model's own. */
  dtype?: StorageDType;
  /** How Compress makes the factors; absent: plain SVD. */
  method?: CompressMethod;
  /** User-chosen ranks by layer name. */
  pins: Record<string, number>;
  sort: { key: SortKey; descending: boolean };
  filter: string;
  selected?: string;
}

export type SortKey = 'index' | 'name' | 'kind' | 'params' | 'breakEven' | 'rank' | 'energy' | 'error' | 'after';
