import { breakEvenRank, cumulativeEnergy, paramsAtRank } from './ranks.js';

export interface AllocLayer {
  rows: number;
  cols: number;
  /** Singular values, descending. */
  sigma: ArrayLike<number>;
  /** Pin this layer to a rank (user override); it is then excluded from optimisation. */
  pinned?: number;
  /** Weight of this layer's relative error in the objective (sensitivity); default 1. */
  weight?: number;
}

export interface Allocation {
  /** Per layer rank; min(rows, cols) means "leave dense". */
  ranks: number[];
  params: number;
  /** Σ weight_l · discarded-energy share of layer l. */
  objective: number;
}

interface Step { layer: number; from: number; to: number; cost: number; gain: number; slope: number }

/**
 * Chooses each layer's rank to minimise Σ_l w_l·(Σ_{i>k_l} σ_i²)/‖W_l‖² subject to
 * Σ params ≤ budget, where a layer's options are ranks 1..breakEven or dense.
 *
 * Each layer's options are reduced to their lower convex hull (error vs params); hull
 * steps of all layers are taken in order of error removed per parameter. Because every
 * layer's hull slopes decrease, this is the exact optimum of the LP relaxation at every
 * hull vertex; a step that does not fit is skipped and smaller ones of other layers still
 * fill the rest, then an exchange pass spends any leftover on non-hull ranks. That can miss
 * the optimum by at most one rank step of one layer (the problem is a knapsack), so when
 * the instance is small enough an exact dynamic programme over the budget decides instead.
 */
export function allocate(layers: AllocLayer[], budget: number): Allocation {
  return exactAllocation(layers, budget) ?? greedyAllocation(layers, budget);
}

const DP_CELLS = 4_000_000;

function layerOptions(l: AllocLayer): number[] {
  const full = Math.min(l.rows, l.cols);
  if (l.pinned !== undefined) return [Math.max(1, Math.min(l.pinned, full))];
  return [...Array.from({ length: breakEvenRank(l.rows, l.cols) }, (_, i) => i + 1), full];
}

function layerError(l: AllocLayer, cum: Float64Array, k: number): number {
  return k >= Math.min(l.rows, l.cols) ? 0 : (l.weight ?? 1) * (1 - cum[Math.min(k, l.sigma.length)]);
}

/** Exact optimum by DP over integer parameter counts, or undefined when too large. */
function exactAllocation(layers: AllocLayer[], budget: number): Allocation | undefined {
  const B = Math.floor(budget);
  const opts = layers.map(layerOptions);
  const cells = opts.reduce((s, o) => s + o.length, 0) * (B + 1);
  if (B < 0 || cells > DP_CELLS) return undefined;
  let dp = new Float64Array(B + 1); // dp[b]: least error of the layers so far within b params
  const choice: Int32Array[] = [];
  layers.forEach((l, i) => {
    const cum = cumulativeEnergy(l.sigma);
    const next = new Float64Array(B + 1).fill(Infinity);
    const pick = new Int32Array(B + 1).fill(-1);
    opts[i].forEach((k, oi) => {
      const c = paramsAtRank(l.rows, l.cols, k);
      const e = layerError(l, cum, k);
      for (let b = c; b <= B; b++) {
        const v = dp[b - c] + e;
        if (v < next[b]) { next[b] = v; pick[b] = oi; }
      }
    });
    dp = next;
    choice.push(pick);
  });
  if (!Number.isFinite(dp[B])) return undefined;
  const ranks = new Array<number>(layers.length);
  let b = B, params = 0;
  for (let i = layers.length - 1; i >= 0; i--) {
    const k = opts[i][choice[i][b]];
    ranks[i] = k;
    const c = paramsAtRank(layers[i].rows, layers[i].cols, k);
    params += c; b -= c;
  }
  return { ranks, params, objective: dp[B] };
}

function greedyAllocation(layers: AllocLayer[], budget: number): Allocation {
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
