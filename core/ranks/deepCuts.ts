// Plans that cut a layer so deeply that plain SVD is likely to break the model, named before
// anything is written: the CLI refuses them (unless told to go ahead), the panel warns.
//
// The rule: a factorised layer left with less than 70 % of its spectrum's energy (relative
// Frobenius error above 0.55). Chosen on the real-model bench (bench/real-models), not on a
// proxy. At --ratio 0.7, PaddleOCR's recogniser (its classifier at 43 % of its energy) and the
// openWakeWord embedding model (seven convolutions at 66–70 %) lost everything, the text
// detector (78 % at worst) lost nothing, and the orientation classifier (58 %) kept 94 % of its
// accuracy: refused with the others, the price of a rule that sees only weights. No weight
// figure separates these cases (the recogniser lost 28 points from one 1×1 convolution
// keeping 96 %; the detector survived layers at 25 %), so the rule stops the plans most likely
// to break a model and names the data-aware method, which measures instead. A floor in the
// allocator (no layer below the rule while the budget allows) was tried and dropped: it turned
// the recogniser's refused --ratio 0.7 into a written plan that read nothing. Refusing is the
// point; the --ratio a refusal names may be larger than one that passes (the allocation's
// dense-or-factorised choices jump: the example MLP passes at 0.34 and is refused at 0.4).
import type { Analysis } from '../analysis.js';
import { cumulativeEnergy } from './ranks.js';
import type { Plan } from '../compress/types.js';

/** Share of a layer's energy below which a cut is deep. */
export const DEEP_CUT_ENERGY = 0.7;

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

/** "3 layers below 70 % of their energy". */
export function deepCutCount(count: number): string {
  return `${count} layer${count === 1 ? '' : 's'} below ${DEEP_CUT_ENERGY * 100} % of ${count === 1 ? 'its' : 'their'} energy`;
}

/** "cuts 3 layers below 70 % of their energy: fc at rank 15 of 120 (43 % kept), …", to follow the goal. */
export function describeDeepCuts(cuts: DeepCut[], shown = 3): string {
  const named = cuts.slice(0, shown).map((c) => `${c.layer} at rank ${c.rank} of ${c.full} (${(c.energyKept * 100).toFixed(0)} % kept)`);
  const more = cuts.length > shown ? `, and ${cuts.length - shown} more` : '';
  return `cuts ${deepCutCount(cuts.length)}: ${named.join(', ')}${more}`;
}
