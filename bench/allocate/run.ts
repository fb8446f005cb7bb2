// Time of the global rank allocation for 500 layers (issue target: < 50 ms), against a
// reference measured in the same run: one sort of every layer's σ² (what any allocator
// must at least look at). Run: npx tsx bench/allocate/run.ts
import { allocate, type AllocLayer } from '../../core/ranks/allocate.js';

const layers: AllocLayer[] = Array.from({ length: 500 }, (_, i) => {
  const n = 64 + (i % 7) * 64;
  return { rows: n, cols: n + 32, sigma: Array.from({ length: n }, (_, j) => Math.exp(-j / (10 + (i % 13)))) };
});
const total = layers.reduce((s, l) => s + l.rows * l.cols, 0);

function median(f: () => void, reps = 15): number {
  const t: number[] = [];
  for (let r = 0; r < reps; r++) { const t0 = performance.now(); f(); t.push(performance.now() - t0); }
  return t.sort((a, b) => a - b)[reps >> 1];
}

console.log('| budget | allocate (ms, median of 15) | sort of all σ² (ms) | ratio |');
console.log('|---|---:|---:|---:|');
for (const ratio of [0.5, 0.34, 0.1]) {
  const ours = median(() => allocate(layers, ratio * total));
  const ref = median(() => { layers.flatMap((l) => Array.from(l.sigma, (s) => s * s)).sort((a, b) => b - a); });
  console.log(`| ${ratio} | ${ours.toFixed(1)} | ${ref.toFixed(1)} | ${(ours / ref).toFixed(2)} |`);
}
console.log(`\n500 layers, ${layers.reduce((s, l) => s + l.sigma.length, 0)} singular values in all.`);
