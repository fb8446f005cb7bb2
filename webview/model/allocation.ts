// The panel's plan: every layer's rank for the chosen goal, with the user's pinned ranks.
import type { Analysis, LayerAnalysis } from '../../core/analysis.js';
import { prepareAllocation, type AllocLayer, type PreparedAllocation } from '../../core/ranks/allocate.js';
import { breakEvenRank, distinctParams, suggestedRank } from '../../core/ranks/ranks.js';
import type { PanelViewState } from '../../shared/panelProtocol.js';

export type Goal = Pick<PanelViewState, 'goal' | 'keep' | 'energy' | 'pins'>;

export function fullRank(layer: LayerAnalysis): number {
  return Math.min(layer.rows, layer.cols);
}

/** A rank the user typed, made meaningful: past break-even a factorisation only costs, so it means dense. */
export function normaliseRank(layer: LayerAnalysis, rank: number): number {
  const k = Math.max(1, Math.round(rank));
  return !layer.factorisable || k > breakEvenRank(layer.rows, layer.cols) ? fullRank(layer) : k;
}

/** Parameters in the file that belong to no layer's weight (biases, norms…): always kept (repeated tensors once). */
export function unlayeredParams(analysis: Analysis): number {
  return distinctParams(analysis) - analysis.layers.reduce((s, l) => s + l.params, 0);
}

/** allocate()'s budget for a fraction of the whole model's parameters to keep. */
export function layerBudget(analysis: Analysis, keep: number): number {
  return keep * analysis.totalParams - unlayeredParams(analysis);
}

/** The allocator's view of the layers; layers we never factorise are pinned dense. */
export function allocLayers(analysis: Analysis, pins: Record<string, number>): AllocLayer[] {
  return analysis.layers.map((l) => ({
    rows: l.rows, cols: l.cols, sigma: l.singularValues,
    pinned: !l.factorisable ? fullRank(l) : pins[l.name],
  }));
}

let last: { analysis: Analysis; pins: Record<string, number>; prepared: PreparedAllocation } | undefined;

/**
 * The allocator for these layers and pins, prepared once: dragging the budget then costs one
 * walk per move. The panel replaces its pins object on every pin change, so identity is the key.
 */
function preparedAllocation(analysis: Analysis, pins: Record<string, number>): PreparedAllocation {
  if (last?.analysis !== analysis || last.pins !== pins) {
    last = { analysis, pins, prepared: prepareAllocation(allocLayers(analysis, pins)) };
  }
  return last.prepared;
}

/** Every layer's rank under the goal: the optimal allocation for a budget, or per-layer energy ranks. */
export function chooseRanks(analysis: Analysis, goal: Goal): number[] {
  if (goal.goal === 'ratio') {
    return preparedAllocation(analysis, goal.pins).allocate(layerBudget(analysis, goal.keep)).ranks;
  }
  return analysis.layers.map((l) => {
    if (!l.factorisable) return fullRank(l);
    return goal.pins[l.name] ?? suggestedRank(l.singularValues, l.rows, l.cols, goal.energy);
  });
}
