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

/** A set of layers made ready for allocating many budgets: each call costs a walk, not a sort. */
export interface PreparedAllocation {
  allocate(budget: number): Allocation;
  /** The hull-greedy answer alone, which instances too big for the exact programme get. */
  greedy(budget: number): Allocation;
}

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
  return prepareAllocation(layers).allocate(budget);
}

/**
 * Does the budget-independent work once (energies, hulls, the merged order of all hull
 * steps), so that moving a budget slider only re-walks that order: the steps taken before
 * the first one that does not fit are found by binary search on their running cost.
 */
export function prepareAllocation(layers: AllocLayer[]): PreparedAllocation {
  const prepared = layers.map(prepareLayer);
  const steps = mergedSteps(prepared);
  const greedy = (budget: number) => greedyAllocation(prepared, steps, budget);
  return { allocate: (budget) => exactAllocation(prepared, budget) ?? greedy(budget), greedy };
}

const DP_CELLS = 4_000_000;

interface PreparedLayer {
  rows: number;
  cols: number;
  pinned: boolean;
  /** Ranks this layer may take, ascending: 1..breakEven then dense, or the pinned rank alone. */
  options: number[];
  /** Largest factorised option (0 when there is none). */
  breakEven: number;
  /** err[k] for k = 0..min(m,n): weighted discarded-energy share at rank k, 0 when dense. */
  err: Float64Array;
  /** Convex-hull ranks, cheapest first. */
  hull: number[];
}

function prepareLayer(l: AllocLayer): PreparedLayer {
  const full = Math.min(l.rows, l.cols);
  const pinned = l.pinned !== undefined;
  const breakEven = pinned ? 0 : breakEvenRank(l.rows, l.cols);
  const options = pinned
    ? [Math.max(1, Math.min(l.pinned!, full))]
    : [...Array.from({ length: breakEven }, (_, i) => i + 1), full];
  const cum = cumulativeEnergy(l.sigma);
  const w = l.weight ?? 1;
  const err = new Float64Array(full + 1);
  for (let k = 0; k < full; k++) err[k] = w * (1 - cum[Math.min(k, l.sigma.length)]);
  const layer = { rows: l.rows, cols: l.cols, pinned, options, breakEven, err, hull: options };
  if (!pinned) layer.hull = lowerHull(layer);
  return layer;
}

function cost(l: PreparedLayer, k: number): number {
  return paramsAtRank(l.rows, l.cols, k);
}

/** Lower convex hull of (cost, err) over the options, walked from the cheapest. */
function lowerHull(l: PreparedLayer): number[] {
  const { options: opts, err } = l;
  const hull: number[] = [opts[0]];
  for (let j = 1; j < opts.length; j++) {
    const k = opts[j];
    while (hull.length >= 2) {
      const a = hull[hull.length - 2], b = hull[hull.length - 1];
      const s1 = (err[a] - err[b]) / (cost(l, b) - cost(l, a));
      const s2 = (err[b] - err[k]) / (cost(l, k) - cost(l, b));
      if (s2 >= s1) hull.pop(); else break;
    }
    hull.push(k);
  }
  return hull;
}

/** Every layer's hull steps in one list, steepest first, with their running cost. */
interface Steps {
  layer: Int32Array;
  from: Int32Array;
  to: Int32Array;
  cost: Float64Array;
  /** spent[j]: cost of steps 0..j-1 together (integers, so exact). */
  spent: Float64Array;
}

function mergedSteps(layers: PreparedLayer[]): Steps {
  const list: { layer: number; from: number; to: number; cost: number; slope: number }[] = [];
  layers.forEach((l, i) => {
    if (l.pinned) return;
    for (let j = 1; j < l.hull.length; j++) {
      const from = l.hull[j - 1], to = l.hull[j];
      const c = cost(l, to) - cost(l, from);
      list.push({ layer: i, from, to, cost: c, slope: (l.err[from] - l.err[to]) / c });
    }
  });
  // A stable sort: equal slopes keep layer order, so every budget sees the same order.
  list.sort((a, b) => b.slope - a.slope);
  const n = list.length;
  const steps: Steps = {
    layer: new Int32Array(n), from: new Int32Array(n), to: new Int32Array(n),
    cost: new Float64Array(n), spent: new Float64Array(n + 1),
  };
  list.forEach((s, j) => {
    steps.layer[j] = s.layer; steps.from[j] = s.from; steps.to[j] = s.to; steps.cost[j] = s.cost;
    steps.spent[j + 1] = steps.spent[j] + s.cost;
  });
  return steps;
}

/** Exact optimum by DP over integer parameter counts, or undefined when too large. */
function exactAllocation(layers: PreparedLayer[], budget: number): Allocation | undefined {
  const B = Math.floor(budget);
  const cells = layers.reduce((s, l) => s + l.options.length, 0) * (B + 1);
  if (B < 0 || cells > DP_CELLS) return undefined;
  let dp = new Float64Array(B + 1); // dp[b]: least error of the layers so far within b params
  const choice: Int32Array[] = [];
  for (const l of layers) {
    const next = new Float64Array(B + 1).fill(Infinity);
    const pick = new Int32Array(B + 1).fill(-1);
    l.options.forEach((k, oi) => {
      const c = cost(l, k);
      const e = l.err[k];
      for (let b = c; b <= B; b++) {
        const v = dp[b - c] + e;
        if (v < next[b]) { next[b] = v; pick[b] = oi; }
      }
    });
    dp = next;
    choice.push(pick);
  }
  if (!Number.isFinite(dp[B])) return undefined;
  const ranks = new Array<number>(layers.length);
  let b = B, params = 0;
  for (let i = layers.length - 1; i >= 0; i--) {
    const k = layers[i].options[choice[i][b]];
    ranks[i] = k;
    const c = cost(layers[i], k);
    params += c; b -= c;
  }
  return { ranks, params, objective: dp[B] };
}

function greedyAllocation(layers: PreparedLayer[], steps: Steps, budget: number): Allocation {
  const ranks = layers.map((l) => l.hull[0]);
  let params = 0;
  for (let i = 0; i < layers.length; i++) params += cost(layers[i], ranks[i]);
  // Up to the first step that does not fit, every step is taken: find it by bisection.
  let lo = 0, hi = steps.layer.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (params + steps.spent[mid] <= budget) lo = mid; else hi = mid - 1;
  }
  for (let j = 0; j < lo; j++) ranks[steps.layer[j]] = steps.to[j];
  params += steps.spent[lo];
  // Past it, a step is taken when it fits and its layer took the steps before it.
  for (let j = lo; j < steps.layer.length; j++) {
    const i = steps.layer[j];
    if (ranks[i] !== steps.from[j] || params + steps.cost[j] > budget) continue;
    ranks[i] = steps.to[j];
    params += steps.cost[j];
  }
  // Exchange pass: leftover budget buys the best single non-hull move, repeatedly.
  for (;;) {
    let best = -1, bestRank = 0, bestGain = 0;
    for (let i = 0; i < layers.length; i++) {
      const move = bestMove(layers[i], ranks[i], params, budget);
      if (move && move.gain > bestGain) { best = i; bestRank = move.rank; bestGain = move.gain; }
    }
    if (best < 0) break;
    params += cost(layers[best], bestRank) - cost(layers[best], ranks[best]);
    ranks[best] = bestRank;
  }
  let objective = 0;
  for (let i = 0; i < layers.length; i++) objective += layers[i].err[ranks[i]];
  return { ranks, params, objective };
}

/**
 * A layer's most error-reducing affordable move up from rank r (the smallest such rank on a
 * tie). Error falls with rank, so among factorised ranks that is the largest affordable one,
 * or the first rank reaching its error; dense must do strictly better to be chosen.
 */
function bestMove(l: PreparedLayer, r: number, params: number, budget: number): { rank: number; gain: number } | undefined {
  if (l.pinned) return undefined;
  const full = Math.min(l.rows, l.cols);
  if (r >= full) return undefined;
  const fits = (k: number) => params + (cost(l, k) - cost(l, r)) <= budget;
  // A rank step costs m+n; the estimate is then corrected with the exact comparison.
  let top = Math.min(l.breakEven, r + Math.max(0, Math.floor((budget - params) / (l.rows + l.cols))));
  while (top > r && !fits(top)) top--;
  while (top < l.breakEven && fits(top + 1)) top++;
  let move: { rank: number; gain: number } | undefined;
  if (top > r) {
    let lo = r + 1, hi = top;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (l.err[mid] <= l.err[top]) hi = mid; else lo = mid + 1;
    }
    move = { rank: lo, gain: l.err[r] - l.err[lo] };
  }
  if (fits(full) && l.err[r] > (move?.gain ?? 0)) move = { rank: full, gain: l.err[r] };
  return move;
}
