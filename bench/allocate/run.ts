// Time of the global rank allocation, against a reference measured in the same run: one sort
// of every layer's σ² (what any allocator must at least look at).
// - "budget move": what the tradeoff panel does when the global budget changes — allocate()
//   on a prepareAllocation() made once per analysis and pin set (issue target ≤ 16 ms, 200 layers);
// - "cold": prepareAllocation + allocate, what the CLI's --ratio does once (target < 50 ms, 500 layers).
// - "previous": the greedy allocator before prepareAllocation (test/unit/referenceAllocate.ts),
//   which redid the hulls and the sort on every budget move.
// Run: npx tsx bench/allocate/run.ts
import { allocate, prepareAllocation, type AllocLayer } from '../../core/ranks/allocate.js';
import { greedyAllocation as previousGreedy } from '../../test/unit/referenceAllocate.js';

function model(count: number): AllocLayer[] {
  return Array.from({ length: count }, (_, i) => {
    const n = 64 + (i % 7) * 64;
    return { rows: n, cols: n + 32, sigma: Array.from({ length: n }, (_, j) => Math.exp(-j / (10 + (i % 13)))) };
  });
}

/** p50 and p90 of `reps` timed calls, after a few untimed ones so the JIT has settled. */
function percentiles(f: (rep: number) => void, reps = 200): { p50: number; p90: number } {
  for (let r = 0; r < 5; r++) f(r);
  const t: number[] = [];
  for (let r = 0; r < reps; r++) { const t0 = performance.now(); f(r); t.push(performance.now() - t0); }
  t.sort((a, b) => a - b);
  return { p50: t[Math.floor(reps * 0.5)], p90: t[Math.floor(reps * 0.9)] };
}

const ms = (v: number) => v.toFixed(2);
console.log('| layers | σ values | budget move p50 / p90 (ms) | previous, per move p50 / p90 (ms) | cold allocate p50 / p90 (ms) | sort of all σ² p50 (ms) |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const count of [200, 500]) {
  const layers = model(count);
  const total = layers.reduce((s, l) => s + l.rows * l.cols, 0);
  const values = layers.reduce((s, l) => s + l.sigma.length, 0);
  const prepared = prepareAllocation(layers);
  // A slider drag: budgets from 5 % to 95 % of the parameters, in 0.5 % steps.
  const budget = (rep: number) => total * (0.05 + ((rep * 0.005) % 0.9));
  const move = percentiles((rep) => prepared.allocate(budget(rep)));
  const previous = percentiles((rep) => previousGreedy(layers, budget(rep)), 40);
  const cold = percentiles((rep) => allocate(layers, budget(rep)), 40);
  const sort = percentiles(() => { layers.flatMap((l) => Array.from(l.sigma, (s) => s * s)).sort((a, b) => b - a); }, 40);
  console.log(`| ${count} | ${values} | ${ms(move.p50)} / ${ms(move.p90)} | ${ms(previous.p50)} / ${ms(previous.p90)} | ${ms(cold.p50)} / ${ms(cold.p90)} | ${ms(sort.p50)} |`);
}
