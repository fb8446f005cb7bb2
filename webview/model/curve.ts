// The whole-model tradeoff: parameters kept vs proxy error along the optimal allocations.
import type { Analysis } from '../../core/analysis.js';
import { prepareAllocation } from '../../core/ranks/allocate.js';
import { paramsAtRank } from '../../core/ranks/ranks.js';
import { allocLayers, layerBudget, unlayeredParams } from './allocation.js';
import { layerOutcome, totals } from './totals.js';

export interface CurvePoint {
  /** Fraction of the model's parameters kept. */
  keep: number;
  proxyError: number;
}

const SAMPLES = 32;

/**
 * Samples the curve from the smallest reachable model (every free layer at rank 1) to the
 * dense one, one allocation per step so the caller can spread the work over several tasks.
 */
export function* tradeoffCurve(analysis: Analysis, pins: Record<string, number>): Generator<CurvePoint> {
  const layers = allocLayers(analysis, pins);
  if (analysis.totalParams <= 0) return;
  const allocation = prepareAllocation(layers);
  const smallest = unlayeredParams(analysis)
    + layers.reduce((s, l) => s + paramsAtRank(l.rows, l.cols, l.pinned ?? 1), 0);
  const lo = smallest / analysis.totalParams;
  for (let i = 0; i <= SAMPLES; i++) {
    const keep = lo + ((1 - lo) * i) / SAMPLES;
    const { ranks } = allocation.allocate(layerBudget(analysis, keep));
    const t = totals(analysis, analysis.layers.map((l, j) => layerOutcome(l, ranks[j])));
    yield { keep: t.params / analysis.totalParams, proxyError: t.proxyError };
  }
}
