// Times one engine's spectrum of one raw float32 matrix; bundled by pack.sh into
// carry/dist/bench-spectra.js so it runs with the carried node binary and no npm.
// usage: bench-spectra.js ENGINE MATRIX.f32 ROWS COLS SIGMA_OUT.f64 [PYTHON]
// Prints {"engine", "device", "seconds"}; engine start-up and a warm-up call are not timed.
import { readFileSync, writeFileSync } from 'node:fs';
import { createEngine, type EngineChoice } from '../../core/engines/select.js';

const [choice, file, rows, cols, out, python] = process.argv.slice(2);
const m = Number(rows), n = Number(cols);
const bytes = readFileSync(file);
const data = new Float32Array(bytes.buffer, bytes.byteOffset, m * n);
const engine = await createEngine(choice as EngineChoice, { python });
try {
  await engine.spectrum({ data: data.subarray(0, 64 * 64), rows: 64, cols: 64 });
  const t0 = performance.now();
  const sigma = await engine.spectrum({ data, rows: m, cols: n });
  const seconds = (performance.now() - t0) / 1000;
  writeFileSync(out, sigma);
  console.log(JSON.stringify({ engine: engine.name, device: engine.description, seconds }));
} finally {
  await engine.close();
}
