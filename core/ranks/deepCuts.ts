// Plans that cut a layer so deeply that plain SVD is likely to break the model, named before
// anything is written: the CLI refuses them (unless told to go ahead), the panel warns.
//
// The rule: a factorised layer left with less than half of its spectrum's energy (relative
// Frobenius error above √½). Chosen on the real-model bench (bench/real-models), not on a
// proxy: PaddleOCR's recogniser at --ratio 0.7 left its 120×6625 classifier 42 % of its energy
// and read nothing; plans whose every layer kept more than half (its orientation classifier at
// 0.7, 58 % at worst, 93 % of its accuracy kept; its detector at 0.7 and 0.5) did not break.
// A weight spectrum cannot say which layer the model needs (the same recogniser lost 28
// points from one 1×1 convolution at 96 % energy), so this catches the plans that destroy a
// layer, and the data-aware method measures the rest.
import type { Analysis } from '../analysis.js';
import { cumulativeEnergy } from './ranks.js';
import type { Plan } from '../compress/types.js';

/** Share of a layer's energy below which a cut is deep. */
export const DEEP_CUT_ENERGY = 0.5;

export interface DeepCut {
  layer: string;
  rank: number;
  /** min(rows, cols) of the layer. */
  full: number;
  /** Share of Σσ² the rank keeps. */
  energyKept: number;
}

export function isDeepCut(energyKept: number): boolean {
  return energyKept < DEEP_CUT_ENERGY;
}

/** The plan's deep cuts, worst first. */
export function deepCuts(analysis: Analysis, plan: Plan): DeepCut[] {
  const cuts: DeepCut[] = [];
  for (const l of analysis.layers) {
    const rank = plan.get(l.name);
    const full = Math.min(l.rows, l.cols);
    if (rank === undefined || rank >= full) continue;
    const energyKept = cumulativeEnergy(l.singularValues)[Math.min(rank, l.singularValues.length)];
    if (isDeepCut(energyKept)) cuts.push({ layer: l.name, rank, full, energyKept });
  }
  return cuts.sort((a, b) => a.energyKept - b.energyKept);
}

/** "cuts 3 layers below half their energy: fc at rank 15 of 120 (42 % kept), …", to follow the goal. */
export function describeDeepCuts(cuts: DeepCut[], shown = 3): string {
  const named = cuts.slice(0, shown).map((c) => `${c.layer} at rank ${c.rank} of ${c.full} (${(c.energyKept * 100).toFixed(0)} % kept)`);
  const more = cuts.length > shown ? `, and ${cuts.length - shown} more` : '';
  return `cuts ${cuts.length} layer${cuts.length === 1 ? '' : 's'} below half of ${cuts.length === 1 ? 'its' : 'their'} energy: ${named.join(', ')}${more}`;
}
