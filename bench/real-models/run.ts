// Quality of `reducible compress` on real pretrained models shipped in npm (issue 19, item 1):
// PaddleOCR's text-line recogniser, orientation classifier and text detector, openWakeWord's speech
// embedding model (ONNX) and Spotify's Basic Pitch (TF.js graph). Each cell runs the real CLI as a
// child process (wall time and peak RSS of the whole process), then evaluates the original and the
// compressed model in the stock runtime (onnxruntime-node, or @tensorflow/tfjs) on its own task:
// the task metric against the labels, and agreement with the original's predictions.
// Each cell is kept in results/<model>/<method>-<ratio>.json, so cells can be measured by
// separate runs; RESULTS.md is rendered from all kept cells (with notes.md on top).
// Before: bench/real-models/setup.sh, fetch.sh, then /usr/bin/python3 bench/real-models/make_data.py.
// Run: npx tsx bench/real-models/run.ts   (MODELS=rec,cls,det,wake,pitch METHODS=svd,whitened,finetune RATIOS=0.7,0.5,0.34
//      FINETUNE=steps RSS_LIMIT_GB=3 TIMEOUT_S=600; CALIB_N=n: whitened and fine-tuned cells given only the first n
//      calibration inputs, kept apart as <method>-<ratio>-cal<n>.json — how far the calibration set must shrink to fit)
//   --cli PATH (or REDUCIBLE_CLI=PATH): compress with another checkout's built CLI (its dist/cli.js)
//   --dry: keep nothing, print the measured cells' table with the kept cells' metric beside them
//   --render: RESULTS.md from the kept cells only
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { cellName, METHODS, type Cell, type MethodId } from './cell.js';
import { runCompress, type Limits } from './compressRun.js';
import { methodLabel, modelTable, renderResults } from './render.js';
import { encodeNpy } from '../../core/io/npy.js';
import { npyBatches } from './npyBatches.js';
import { missing, predictAll, TASKS, type Task } from './tasks.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(HERE, '../..');
const RESULTS = join(HERE, 'results');

/**
 * Steps of --finetune per model. 100 everywhere: `--method whitened` alone takes 2–5 minutes on
 * these models on two shared cores, and a first try (cls, 20 steps) failed in fine-tuning's
 * TF.js forward pass at 4.7 GB before any step, so more steps would only lengthen the cells that get that far.
 */
const FINETUNE_STEPS: Record<string, number> = { rec: 100, cls: 100, det: 100, wake: 100 };

const list = (v: string | undefined, all: readonly string[]): string[] => (v ? v.split(',') : [...all]);

function keptCells(model: string): Cell[] {
  const dir = join(RESULTS, model);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Cell) : [];
}

function fail(message: string): never {
  console.error(`real-models: ${message}`);
  process.exit(2);
}

/** The model's calibration set, or (CALIB_N) a file of its first n inputs, made once beside it. */
function calibrationFile(task: Task<unknown>, n: number | undefined): string {
  if (!n) return task.calibration;
  const file = task.calibration.replace(/\.npy$/, `-first${n}.npy`);
  if (!existsSync(file)) {
    const first = npyBatches(task.calibration, n).next().value!;
    writeFileSync(file, encodeNpy({ dtype: 'float32', shape: first.shape, data: first.data }));
  }
  return file;
}

/** The CLI's flags for one method. */
function methodFlags(method: MethodId, calibration: string, steps: number): string[] {
  const whitened = ['--method', 'whitened', '--calibration', calibration];
  return method === 'svd' ? ['--method', 'svd'] : method === 'whitened' ? whitened : [...whitened, '--finetune', String(steps)];
}

/** Layers the analysis lists: the proxy error's denominator, as the panel takes it. */
function analysedLayers(cli: string, model: string): number {
  const out = execFileSync(process.execPath, [cli, 'analyze', model, '--json'], { maxBuffer: 1 << 28 }).toString();
  return (JSON.parse(out) as { layers: unknown[] }).layers.length;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const dry = argv.includes('--dry');
  const notes = readFileSync(join(HERE, 'notes.md'), 'utf8');
  if (argv.includes('--render')) {
    writeFileSync(join(HERE, 'RESULTS.md'), renderResults(TASKS, keptCells, notes));
    return;
  }
  const cliArg = argv.includes('--cli') ? argv[argv.indexOf('--cli') + 1] : process.env.REDUCIBLE_CLI;
  const cli = resolve(cliArg ?? join(ROOT, 'dist/cli.js'));
  if (!existsSync(cli)) fail(`${cli} is missing (build that checkout: npm ci, or node scripts/build.mjs)`);
  const models = list(process.env.MODELS, TASKS.map((t) => t.id));
  const unknown = models.find((m) => !TASKS.some((t) => t.id === m));
  if (unknown) fail(`MODELS: no model "${unknown}" (have ${TASKS.map((t) => t.id).join(', ')})`);
  const methods = list(process.env.METHODS, METHODS) as MethodId[];
  if (methods.some((m) => !METHODS.includes(m))) fail(`METHODS: each of ${METHODS.join(', ')}`);
  const ratios = list(process.env.RATIOS, ['0.7', '0.5', '0.34']).map(Number);
  if (ratios.some((r) => !(r > 0 && r <= 1))) fail('RATIOS: numbers in (0, 1]');
  const tasks = TASKS.filter((t) => models.includes(t.id));
  for (const t of tasks) { const gap = missing(t); if (gap) fail(gap); }
  const calibN = process.env.CALIB_N ? Number(process.env.CALIB_N) : undefined;
  if (calibN !== undefined && !(Number.isInteger(calibN) && calibN > 0)) fail('CALIB_N: a whole number of calibration inputs');
  const limits: Limits = { rssBytes: Number(process.env.RSS_LIMIT_GB ?? 3) * 2 ** 30, seconds: Number(process.env.TIMEOUT_S ?? 600) };
  const runLoad = loadavg();
  console.error(`real-models: load average ${runLoad.map((x) => x.toFixed(2)).join(' ')} at start; CLI ${cli}${dry ? ' (--dry: nothing kept)' : ''}`);

  const work = mkdtempSync(join(tmpdir(), 'reducible-real-models-'));
  const measured: Cell[] = [];
  try {
    for (const task of tasks) {
      const original = await predictAll(task, task.model);
      const originalScores = task.score(original);
      const layers = analysedLayers(cli, task.model);
      console.error(`${task.id}: original ${task.metricName} ${(originalScores.metric * 100).toFixed(2)} %, ${layers} layers analysed`);
      const steps = Number(process.env.FINETUNE ?? FINETUNE_STEPS[task.id]);
      for (const method of methods) {
        for (const ratio of ratios) {
          // A folder per cell: a TF.js output is a model.json with weight shards beside it.
          const cellDir = join(work, `${task.id}-${method}-${ratio}`);
          mkdirSync(cellDir);
          const out = join(cellDir, basename(task.model));
          const cellLoad = loadavg();
          const flags = methodFlags(method, calibrationFile(task, method === 'svd' ? undefined : calibN), steps);
          const args = [task.model, '--ratio', String(ratio), ...flags, '-o', out, '--force'];
          let run = await runCompress(cli, args, limits);
          // The CLI refuses data-free plans that cut a layer deeply (exit 2, its message naming
          // --allow-deep-cuts as the way past): keep the refusal, then measure what it would have written.
          const refusal = method === 'svd' && run.exitCode === 2 && run.error?.includes('--allow-deep-cuts') ? run.error : undefined;
          if (refusal) run = await runCompress(cli, [...args, '--allow-deep-cuts'], limits);
          const cell: Cell = {
            model: task.id, method, ratio, ...(method === 'finetune' ? { finetuneSteps: steps } : {}),
            ...(calibN && method !== 'svd' ? { calibrationInputs: calibN } : {}),
            ...(refusal ? { deepCutRefusal: refusal } : {}),
            cli: relative(ROOT, cli) || cli, measuredAt: new Date().toISOString(), load: { run: runLoad, cell: cellLoad },
            compress: { seconds: run.seconds, peakRssBytes: run.peakRssBytes, exitCode: run.exitCode, ...(run.error ? { error: run.error } : {}) },
            original: originalScores,
          };
          const r = run.report;
          if (r) {
            const errors = Object.fromEntries(r.layers.map((l) => [l.name, l.relativeError]));
            cell.plan = {
              paramsKept: r.compressedParams / r.originalParams, bytesKept: r.compressedBytes / r.originalBytes,
              bytes: { original: r.originalBytes, compressed: r.compressedBytes, predicted: r.predictedBytes },
              ranks: Object.fromEntries(r.layers.map((l) => [l.name, l.rank])), relativeErrors: errors,
              proxyError: Math.sqrt(r.layers.reduce((s, l) => s + l.relativeError ** 2, 0) / layers), analysedLayers: layers,
              ...(r.methodChoice ? { methodChoice: r.methodChoice } : {}), ...(r.finetune ? { finetune: r.finetune } : {}),
            };
            try {
              const predictions = await predictAll(task, out);
              cell.compressed = task.score(predictions);
              cell.agreement = task.agree(original, predictions);
            } catch (e) {
              cell.evalError = (e as Error).message.split('\n')[0];
            }
            rmSync(cellDir, { recursive: true, force: true });
          }
          measured.push(cell);
          const outcome = cell.compressed ? `${task.metricName} ${(cell.compressed.metric * 100).toFixed(2)} %, agreement ${(cell.agreement! * 100).toFixed(2)} %` : `failed: ${cell.compress.error ?? cell.evalError}`;
          console.error(`${task.id} ${methodLabel(cell)} --ratio ${ratio}: ${outcome} (compress ${run.seconds.toFixed(1)} s, peak RSS ${(run.peakRssBytes / 2 ** 20).toFixed(0)} MiB)`);
          if (!dry) {
            mkdirSync(join(RESULTS, task.id), { recursive: true });
            writeFileSync(join(RESULTS, task.id, `${cellName(cell)}.json`), `${JSON.stringify(cell, null, 1)}\n`);
          }
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (dry) {
    for (const t of tasks) {
      const kept = new Map(keptCells(t.id).map((c) => [cellName(c), c]));
      console.log(`${modelTable(t, measured.filter((c) => c.model === t.id), kept)}\n`);
    }
    return;
  }
  const md = renderResults(TASKS, keptCells, notes);
  writeFileSync(join(HERE, 'RESULTS.md'), md);
  console.log(md);
}

main().catch((e: unknown) => { console.error(`real-models: ${(e as Error).message.split('\n')[0]}`); process.exitCode = 1; });
