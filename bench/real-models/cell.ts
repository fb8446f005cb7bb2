// One bench cell (model × method × ratio) as it is kept in results/<model>/<method>-<ratio>.json:
// everything measured, so tables and correlations can be recomputed without re-running.
import type { FinetuneResult } from '../../core/compress/distil.js';
import type { MethodChoice } from '../../core/compress/guard.js';
import type { Scores } from './tasks.js';

export const METHODS = ['svd', 'whitened', 'finetune'] as const;
export type MethodId = (typeof METHODS)[number];

export interface Cell {
  model: string; method: MethodId; ratio: number;
  /** --finetune steps (method 'finetune' only). */
  finetuneSteps?: number;
  /** Only the first N calibration inputs were given (CALIB_N, a diagnostic of memory); absent: all 300. */
  calibrationInputs?: number;
  /** Plain SVD refused without --allow-deep-cuts (its one-line message); the cell's figures are then the run with it. */
  deepCutRefusal?: string;
  /** The CLI that compressed (a path), and when. */
  cli: string; measuredAt: string;
  /** 1, 5 and 15-minute load averages when the run started and when this cell started (2 shared cores). */
  load: { run: number[]; cell: number[] };
  compress: { seconds: number; peakRssBytes: number; exitCode: number | null; error?: string };
  /** What the CLI planned and reported; absent when compress failed. */
  plan?: {
    paramsKept: number; bytesKept: number;
    /** The report's byte counts: the file written, and what its parameter count and dtypes imply (DESIGN.md's size bar compares them). */
    bytes?: { original: number; compressed: number; predicted: number };
    /** Factorised layers only; a layer not listed stayed dense. */
    ranks: Record<string, number>; relativeErrors: Record<string, number>;
    /** The tradeoff panel's "proxy error" (webview/model/totals.ts): RMS of the layers' relative errors over all analysed layers, dense ones at 0. */
    proxyError: number; analysedLayers: number;
    /** --method whitened: which factors the CLI's guard kept, and fine-tuning's outcome, both judged on its held-out calibration inputs. */
    methodChoice?: MethodChoice; finetune?: FinetuneResult;
  };
  original: Scores;
  compressed?: Scores;
  agreement?: number;
  /** Running the compressed model failed (it did not load or run in onnxruntime). */
  evalError?: string;
}

/** Where a cell is kept, under results/<model>/. */
export const cellName = (c: Pick<Cell, 'method' | 'ratio' | 'calibrationInputs'>): string =>
  `${c.method}-${c.ratio}${c.calibrationInputs ? `-cal${c.calibrationInputs}` : ''}`;

/** Task metric lost, in points (positive = worse than the original). */
export const dropPoints = (c: Cell): number | undefined => (c.compressed ? (c.original.metric - c.compressed.metric) * 100 : undefined);
