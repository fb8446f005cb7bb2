// The greedy allocator as it was before prepareAllocation() (hull steps re-sorted and the
// exchange pass re-scanning every option on every call): the oracle the fast path must
// reproduce rank for rank. Test code only.
import type { AllocLayer, Allocation } from '../../core/ranks/allocate.js';
import { breakEvenRank, cumulativeEnergy, paramsAtRank } from '../../core/ranks/ranks.js';

interface Step { layer: number; from: number; to: number; cost: number; gain: number; slope: number }

function layerOptions(l: AllocLayer): number[] {
  const full = Math.min(l.rows, l.cols);
  if (l.pinned !== undefined) return [Math.max(1, Math.min(l.pinned, full))];
  return [...Array.from({ length: breakEvenRank(l.rows, l.cols) }, (_, i) => i + 1), full];
}

function layerError(l: AllocLayer, cum: Float64Array, k: number): number {
  return k >= Math.min(l.rows, l.cols) ? 0 : (l.weight ?? 1) * (1 - cum[Math.min(k, l.sigma.length)]);
}

export function greedyAllocation(layers: AllocLayer[], budget: number): Allocation {
  const ranks = new Array<number>(layers.length);
  const errAt: ((k: number) => number)[] = [];
  const costAt: ((k: number) => number)[] = [];
  let params = 0;
  const steps: Step[] = [];
  const options: number[][] = [];
  layers.forEach((l, i) => {
    const cum = cumulativeEnergy(l.sigma);
    errAt[i] = (k) => layerError(l, cum, k);
    costAt[i] = (k) => paramsAtRank(l.rows, l.cols, k);
    const opts = layerOptions(l);
    options.push(opts);
    if (l.pinned !== undefined) {
      ranks[i] = opts[0];
      params += costAt[i](ranks[i]);
      return;
    }
    // Lower convex hull of (cost, err) over the options, walked from the cheapest.
    const hull: number[] = [opts[0]];
    for (let j = 1; j < opts.length; j++) {
      const k = opts[j];
      while (hull.length >= 2) {
        const a = hull[hull.length - 2], b = hull[hull.length - 1];
        const s1 = (errAt[i](a) - errAt[i](b)) / (costAt[i](b) - costAt[i](a));
        const s2 = (errAt[i](b) - errAt[i](k)) / (costAt[i](k) - costAt[i](b));
        if (s2 >= s1) hull.pop(); else break;
      }
      hull.push(k);
    }
    ranks[i] = hull[0];
    params += costAt[i](hull[0]);
    for (let j = 1; j < hull.length; j++) {
      const from = hull[j - 1], to = hull[j];
      const cost = costAt[i](to) - costAt[i](from);
      const gain = errAt[i](from) - errAt[i](to);
      steps.push({ layer: i, from, to, cost, gain, slope: gain / cost });
    }
  });
  steps.sort((a, b) => b.slope - a.slope);
  for (const s of steps) {
    if (ranks[s.layer] !== s.from) continue; // an earlier step of this layer did not fit
    if (params + s.cost > budget) continue;
    ranks[s.layer] = s.to;
    params += s.cost;
  }
  // Exchange pass: leftover budget buys the best single non-hull move per layer, repeatedly.
  for (;;) {
    let best = -1, bestRank = 0, bestGain = 0;
    for (let i = 0; i < layers.length; i++) {
      if (layers[i].pinned !== undefined) continue;
      for (const k of options[i]) {
        if (k <= ranks[i]) continue;
        const extra = costAt[i](k) - costAt[i](ranks[i]);
        if (params + extra > budget) continue;
        const gain = errAt[i](ranks[i]) - errAt[i](k);
        if (gain > bestGain) { best = i; bestRank = k; bestGain = gain; }
      }
    }
    if (best < 0) break;
    params += costAt[best](bestRank) - costAt[best](ranks[best]);
    ranks[best] = bestRank;
  }
  let objective = 0;
  for (let i = 0; i < layers.length; i++) objective += errAt[i](ranks[i]);
  return { ranks, params, objective };
}
