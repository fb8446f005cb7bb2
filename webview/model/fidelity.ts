// Measured points for the whole-model chart: what evaluating a compression's output found.
import type { EvalReport } from '../../shared/panelProtocol.js';

export interface FidelityPoint {
  /** Fraction of the model's parameters kept. */
  keep: number;
  /** A language model's perplexity on held-out token ids, else accuracy on the labelled data, else top-1 agreement with the original. */
  metric: 'perplexity' | 'accuracy' | 'agreement';
  value: number;
  /** The same measure for the original model (agreement with itself is 1). */
  original: number;
}

/** The measure an evaluation gives for the chart; undefined for weight-only comparisons. */
export function fidelityPoint(report: EvalReport): FidelityPoint | undefined {
  const keep = report.original.params > 0 ? report.compressed.params / report.original.params : 1;
  const { accuracy, perplexity } = report.compressed, { accuracy: before, perplexity: perplexityBefore } = report.original;
  if (perplexity !== undefined && perplexityBefore !== undefined) return { keep, metric: 'perplexity', value: perplexity, original: perplexityBefore };
  if (accuracy !== undefined && before !== undefined) return { keep, metric: 'accuracy', value: accuracy, original: before };
  if (report.top1Agreement !== undefined) return { keep, metric: 'agreement', value: report.top1Agreement, original: 1 };
  return undefined;
}
