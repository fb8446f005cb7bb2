// What a set of ranks costs and loses: per layer and for the whole model.
import type { Analysis, LayerAnalysis } from '../../core/analysis.js';
import { cumulativeEnergy, paramsAtRank, relativeError } from '../../core/ranks/ranks.js';
import { DTYPE_BYTES } from '../../core/io/decode.js';
import type { DType } from '../../core/types.js';
import { fullRank, unlayeredParams } from './allocation.js';
import { isDeepCut } from '../../core/ranks/deepCuts.js';

export interface LayerOutcome {
  rank: number;
  dense: boolean;
  params: number;
  energyKept: number;
  relativeError: number;
}

export interface Totals {
  params: number;
  /**
   * Predicted bytes when the factors are stored in the dtype, as the compress job predicts
   * them: everything it leaves alone (dense layers, biases) keeps its stored bytes, and the
   * format's bytes besides the tensors (Analysis.overhead) come on top.
   */
  bytes: { f32: number; f16: number; int8: number };
  /** RMS of the layers' relative errors: √(allocate's objective / layers), 0 when all dense. */
  proxyError: number;
  /** Layers past the deep-cut rule (core/ranks/deepCuts.ts), worst first. */
  deepCuts: string[];
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

const weightBytes = (l: LayerAnalysis): number => l.rows * l.cols * (DTYPE_BYTES[l.dtype as DType] ?? 4);

export function totals(analysis: Analysis, outcomes: LayerOutcome[]): Totals {
  const params = unlayeredParams(analysis) + outcomes.reduce((s, o) => s + o.params, 0);
  const squared = outcomes.reduce((s, o) => s + o.relativeError ** 2, 0);
  const layers = analysis.layers;
  const kept = analysis.tensorBytes !== undefined
    ? analysis.tensorBytes - layers.reduce((s, l) => s + weightBytes(l), 0)
    : unlayeredParams(analysis) * 4;
  const overhead = analysis.overhead ? analysis.overhead.base + analysis.overhead.perLayer * outcomes.filter((o) => !o.dense).length : 0;
  const bytesAt = (perParam: number): number =>
    overhead + kept + outcomes.reduce((s, o, i) => s + (o.dense ? weightBytes(layers[i]) : o.params * perParam), 0);
  return {
    params,
    bytes: { f32: bytesAt(4), f16: bytesAt(2), int8: bytesAt(1) },
    proxyError: outcomes.length > 0 ? Math.sqrt(squared / outcomes.length) : 0,
    deepCuts: outcomes.map((o, i) => ({ o, name: layers[i].name })).filter(({ o }) => isDeepCut(o.energyKept))
      .sort((a, b) => a.o.energyKept - b.o.energyKept).map(({ name }) => name),
  };
}
