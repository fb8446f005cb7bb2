// What a set of ranks costs and loses: per layer and for the whole model.
import type { Analysis, LayerAnalysis } from '../../core/analysis.js';
import { cumulativeEnergy, paramsAtRank, relativeError } from '../../core/ranks/ranks.js';
import { fullRank, unlayeredParams } from './allocation.js';

export interface LayerOutcome {
  rank: number;
  dense: boolean;
  params: number;
  energyKept: number;
  relativeError: number;
}

export interface Totals {
  params: number;
  /** Predicted bytes on disk when every parameter is stored in the dtype. */
  bytes: { f32: number; f16: number; int8: number };
  /** RMS of the layers' relative errors: √(allocate's objective / layers), 0 when all dense. */
  proxyError: number;
}

export function layerOutcome(layer: LayerAnalysis, rank: number): LayerOutcome {
  const dense = rank >= fullRank(layer);
  const cum = cumulativeEnergy(layer.singularValues);
  return {
    rank, dense,
    params: paramsAtRank(layer.rows, layer.cols, rank),
    energyKept: dense ? 1 : cum[Math.min(rank, layer.singularValues.length)],
    relativeError: dense ? 0 : relativeError(layer.singularValues, rank),
  };
}

export function totals(analysis: Analysis, outcomes: LayerOutcome[]): Totals {
  const params = unlayeredParams(analysis) + outcomes.reduce((s, o) => s + o.params, 0);
  const squared = outcomes.reduce((s, o) => s + o.relativeError ** 2, 0);
  return {
    params,
    bytes: { f32: params * 4, f16: params * 2, int8: params },
    proxyError: outcomes.length > 0 ? Math.sqrt(squared / outcomes.length) : 0,
  };
}
