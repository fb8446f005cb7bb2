// The long fuzz run over every reader (the test suite runs a CI-sized one):
//   npm run bench:robustness -- --inputs 1000000 [--seed S] [--formats onnx,keras] [--parallel 2] [--timeout 10000]
// --inputs is the total, split evenly over the formats. Prints per format: inputs fuzzed, reads
// that succeeded, refusals (and their most common messages), crashes (anything but a one-line
// InputError naming the file), hangs, runaway memory, and files left behind.
import { makeSeeds, FORMATS, type FuzzFormat } from '../../test/robustness/fuzz/seeds.js';
import { fuzzFormat, type FuzzCounts } from '../../test/robustness/fuzz/harness.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const total = Number(flag('inputs', '120000'));
const seed = Number(flag('seed', '1'));
const parallel = Math.max(1, Number(flag('parallel', '2')));
const timeoutMs = Number(flag('timeout', '10000'));
const formats = flag('formats', FORMATS.join(',')).split(',') as FuzzFormat[];
for (const f of formats) if (!FORMATS.includes(f)) throw new Error(`unknown format ${f} (formats: ${FORMATS.join(', ')})`);
if (!Number.isInteger(total) || total < formats.length) throw new Error('--inputs must be a whole number, at least one per format');

const perFormat = Math.ceil(total / formats.length);
const seeds = await makeSeeds(formats);
const started = Date.now();
const results: FuzzCounts[] = [];
const queue = [...formats];
await Promise.all(Array.from({ length: Math.min(parallel, formats.length) }, async () => {
  for (let f = queue.shift(); f; f = queue.shift()) {
    const format = f;
    const c = await fuzzFormat(format, seeds, {
      inputs: perFormat, seed, timeoutMs,
      onProgress: (done) => { if (done % 20_000 === 0) process.stderr.write(`${format}: ${done}/${perFormat} (${Math.round((Date.now() - started) / 1000)} s)\n`); },
    });
    results.push(c);
    // Each format's counts as it finishes, so a run stopped early still says what it found.
    process.stderr.write(`${format} done: ${c.inputs} inputs, ${c.ok} read, ${c.refused} refused, ${c.crashes} crashes, ${c.hangs} hangs, ${c.memory} memory, ${c.leftBehind} left behind\n`);
  }
}));

const rows = [['format', 'inputs', 'read', 'refused', 'crashes', 'hangs', 'memory', 'left behind', 'peak RSS growth']];
for (const c of results.sort((a, b) => formats.indexOf(a.format) - formats.indexOf(b.format))) {
  rows.push([c.format, c.inputs, c.ok, c.refused, c.crashes, c.hangs, c.memory, c.leftBehind, `${c.peakRssGrowthMb} MB`].map(String));
}
const sum = (k: 'inputs' | 'ok' | 'refused' | 'crashes' | 'hangs' | 'memory' | 'leftBehind'): string => String(results.reduce((s, c) => s + c[k], 0));
rows.push(['all', sum('inputs'), sum('ok'), sum('refused'), sum('crashes'), sum('hangs'), sum('memory'), sum('leftBehind'), '']);
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
console.log(`fuzzed ${sum('inputs')} inputs in ${Math.round((Date.now() - started) / 1000)} s (seed ${seed}, ${timeoutMs} ms per input)\n`);
for (const r of rows) console.log(`| ${r.map((v, i) => (i ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join(' | ')} |`);
// Refusals the product made by stopping a reader (HDF5 worker past its deadline or heap cap, or
// retired after h5wasm failed): these would be hangs or crashes without the worker.
const STOPPED = /did not finish in|ran out of memory|was stopped after|libhdf5 stopped/;
for (const c of results) {
  const stopped = [...c.refusals].filter(([m]) => STOPPED.test(m)).reduce((s, [, n]) => s + n, 0);
  console.log(`\n${c.format}: ${stopped} refusals by a stopped reader (deadline, heap cap or h5wasm failure)`);
  console.log(`${c.format}: most common refusals (path and numbers blanked)`);
  for (const [m, n] of [...c.refusals].sort((a, b) => b[1] - a[1]).slice(0, 6)) console.log(`  ${String(n).padStart(7)}  ${m}`);
  for (const f of c.failures) console.log(`  ${f.kind.toUpperCase()} on ${f.seed} #${f.index} ${JSON.stringify(f.mutation)}: ${f.message.split('\n')[0].slice(0, 300)}`);
}
