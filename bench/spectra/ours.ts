// One benchmark case in a fresh process, so its memory baseline is clean: reads a row-major
// f32 matrix file, times EmbeddedEngine.spectrum (real worker threads from dist/worker.js)
// and reports the resident-memory peak above the baseline taken just before the first run.
// Usage: tsx bench/spectra/ours.ts <matrix.f32> <rows> <cols> <reps> <out.json>
import { readFileSync, writeFileSync } from 'node:fs';
import { EmbeddedEngine } from '../../core/engines/embedded.js';

const [file, rowsArg, colsArg, repsArg, out] = process.argv.slice(2);
const rows = Number(rowsArg), cols = Number(colsArg), reps = Number(repsArg);
const bytes = readFileSync(file);
const data = new Float32Array(bytes.buffer, bytes.byteOffset, rows * cols);

/** VmRSS or VmHWM (peak) of this process, in bytes, from /proc. */
function procStatus(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/self/status`);
  return Number(m[1]) * 1024;
}

const engine = new EmbeddedEngine();
// Start the worker and its helper thread outside the timed runs (what a long-lived
// language server or CLI session has already paid for).
await engine.spectrum({ data: new Float32Array(400 * 400).fill(1), rows: 400, cols: 400 });
globalThis.gc?.();
writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
const baseline = procStatus('VmRSS');
async function timed(): Promise<{ seconds: number; values: Float64Array }> {
  const t0 = performance.now();
  const values = await engine.spectrum({ data, rows, cols });
  return { seconds: (performance.now() - t0) / 1000, values };
}
// Memory is read after the first call alone: later calls would add the garbage of earlier ones.
const first = await timed();
const peakAboveBaseline = procStatus('VmHWM') - baseline;
const times = [first.seconds];
for (let r = 1; r < reps; r++) times.push((await timed()).seconds);
const values = first.values;
await engine.close();
writeFileSync(out, JSON.stringify({ times, peakAboveBaseline, values: Array.from(values) }));
