// How a job gets its spectra (for planning) and its factors: plain SVD of the weights, or
// whitened SVD on calibration statistics (the layers whose inputs the format's runner observes, runners/runner.ts);
// optionally with each layer's spectrum weighted by its measured sensitivity (sensitivity.ts).
import { analyzeModel, layerAnalysis, weightSpectrum, type Analysis } from '../analysis.js';
import type { Engine } from '../engines/engine.js';
import type { Tensor } from '../eval/tensor.js';
import { stageOf, type JobOptions, type Layer, type Model, type StoredMatrix } from '../types.js';
import { cumulativeEnergy, rankForEnergy } from '../ranks/ranks.js';
import { balanced, factorize, factorProduct, truncationError, type FactorsToFile, type KeepFactors } from './factorize.js';
import type { FactorProbe, ModelRunner } from '../runners/runner.js';
import type { InputMoments } from './moments.js';
import { firstRows } from '../eval/tensor.js';
import { choleskyWithJitter, whitenedFactors, whitenWeight } from './whiten.js';
import { relayoutShape, toAuxiliary } from './relayout.js';
import { withLayerBuffer } from '../io/layerBuffers.js';
import { lanesOn } from '../lanes.js';
import type { Reductions } from './reductions.js';

export interface Strategy {
  /** Spectra the planner allocates on (whitened ones measure output error). */
  analysis: Analysis;
  /** `toFile`: where an engine that writes files may put plain SVD's factors itself instead of handing them to `keep`. */
  factor<T>(layer: Layer, rank: number, keep: KeepFactors<T>, toFile?: FactorsToFile<T>): Promise<T>;
}

/** Plain SVD of the weights; with `reductions`, each layer's spectrum leaves its reduction there for that layer's SVD. */
export async function plainStrategy(model: Model, engine: Engine, opts: JobOptions, analysis?: Analysis, reductions?: Reductions): Promise<Strategy> {
  const keeping = reductions && (async (layer: Layer) => weightSpectrum(model, layer, engine, { ...opts, keep: await reductions.placeOf(layer) }));
  return {
    analysis: analysis ?? await analyzeModel(model, engine, undefined, opts, keeping, lanesOn(engine, model, model.layers)),
    factor: async (layer, rank, keep, toFile) => factorize(model, layer, rank, engine, { ...opts, reuse: await reductions?.placeOf(layer) }, keep, toFile),
  };
}

function weightError(w: Float32Array, a: Float32Array, b: Float32Array, rows: number, cols: number, k: number): number {
  const ab = factorProduct(a, b, rows, cols, k);
  let num = 0, den = 0;
  for (let i = 0; i < w.length; i++) { const d = w[i] - ab[i]; num += d * d; den += w[i] * w[i]; }
  return den > 0 ? Math.sqrt(num / den) : 0;
}

/** Energy a sensitivity probe keeps: near where budgets of interest put the ranks, where the model is still close to linear in the error. */
const PROBE_ENERGY = 0.9;

/**
 * Layers holding less than this share of the factorisable parameters are not probed: a probe
 * costs a run of the model on the calibration inputs whatever the layer's size, and such a layer
 * can give the budget little. PaddleOCR's recogniser has 7 of them among its 33 layers, 1.2 % of
 * its parameters; their probes took 4 s of its whitened compress.
 */
const PROBE_SHARE = 0.005;

/**
 * The strategy with each factorisable layer's spectrum weighted by its measured effect on the
 * model output (sensitivity.ts): each layer is approximated alone at the rank keeping
 * PROBE_ENERGY of its spectrum, and the output error per unit of discarded energy becomes
 * the layer's weight in the allocator's objective. Layers too small to probe (PROBE_SHARE) take
 * the largest weight measured, so the allocator cuts them last.
 */
export async function withSensitivity(strategy: Strategy, model: Model, calibration: Tensor, opts: JobOptions, runner: ModelRunner): Promise<Strategy> {
  const probes: FactorProbe[] = [];
  opts.progress?.report(0, 'probing layers');
  const factorisable = strategy.analysis.layers.filter((l) => l.factorisable);
  const total = factorisable.reduce((s, l) => s + l.rows * l.cols, 0);
  const probed = factorisable.filter((l) => l.rows * l.cols >= PROBE_SHARE * total);
  for (const la of probed) {
    const layer = model.layers.find((x) => x.name === la.name)!;
    const cum = cumulativeEnergy(la.singularValues);
    const k = Math.max(1, Math.min(rankForEnergy(la.singularValues, PROBE_ENERGY), Math.min(la.rows, la.cols) - 1));
    probes.push(await strategy.factor(layer, k, async (f) => ({ factors: f, discarded: 1 - cum[f.rank] })));
  }
  const weights = await runner.sensitivity(probes, calibration, opts);
  opts.progress?.report(1, 'probed layers');
  const measured = [...weights.values()];
  const largest = measured.length ? Math.max(...measured) : 1;
  for (const l of factorisable) if (!weights.has(l.name)) weights.set(l.name, largest);
  const layers = strategy.analysis.layers.map((l) => (weights.has(l.name) ? { ...l, sensitivity: weights.get(l.name)! } : l));
  return { ...strategy, analysis: { ...strategy.analysis, layers } };
}

/**
 * Input statistics see only the first MOMENT_SAMPLES calibration inputs: the second moments of
 * 5 000 inputs already give whitened factors as good as 60 000 do (measured on Fashion-MNIST),
 * while distillation keeps gaining from every input, so the job passes them all.
 */
const MOMENT_SAMPLES = 5000;

/** The runner's input statistics on the calibration inputs whitening uses (the first MOMENT_SAMPLES). */
export function calibrationMoments(runner: ModelRunner, calibration: Tensor, opts: JobOptions): Promise<Map<string, InputMoments>> {
  return runner.inputMoments(firstRows(calibration, Math.min(calibration.shape[0], MOMENT_SAMPLES)), opts);
}

/**
 * Layers the runner cannot observe keep plain SVD: their spectra are `plain`'s, the analysis the
 * job has anyway for the whitened/plain guard (guard.ts), so no spectrum is computed twice.
 */
export async function whitenedStrategy(model: Model, engine: Engine, calibration: Tensor, opts: JobOptions, runner: ModelRunner, plain: Strategy): Promise<Strategy> {
  // Statistics take the first half of the stage's progress, the whitened spectra the second.
  const moments = await calibrationMoments(runner, calibration, stageOf(opts, 0, 0.5));
  const chol = new Map([...moments].map(([name, m]) => [name, choleskyWithJitter(m.c, m.dim)]));
  const plainSpectrum = async (layer: Layer): Promise<number[]> => plain.analysis.layers.find((l) => l.name === layer.name)!.singularValues;
  // Layers the collector covers are read once, for their whitened spectrum; the rest get the plain one.
  const whitened = (layer: Layer): Promise<Float64Array> | undefined => {
    const l = chol.get(layer.name);
    if (!l) return undefined;
    const { rows, cols } = layer.matrix;
    return model.readMatrix(layer).then((w) => engine.spectrum({ data: whitenWeight(l, w, rows, cols), rows, cols }, opts));
  };
  return {
    analysis: await analyzeModel(model, engine, undefined, stageOf(opts, 0.5, 0.5), (layer) => whitened(layer) ?? plainSpectrum(layer)),
    async factor(layer, rank, keep, toFile) {
      const l = chol.get(layer.name);
      if (!l) return plain.factor(layer, rank, keep, toFile);
      const { rows, cols } = layer.matrix;
      const w = await model.readMatrix(layer);
      const f = await whitenedFactors(w, rows, cols, l, rank, engine, opts);
      return keep({ layer, rank: f.whitenedSigma.length, a: f.a, b: f.b, relativeError: weightError(w, f.a, f.b, rows, cols, f.whitenedSigma.length) });
    },
  };
}

/**
 * DeepThin re-layout: each factorisable layer's stored weight, read in stored order, laid out
 * as its p×q auxiliary matrix (relayout.ts); planning runs on those matrices' spectra and
 * sizes, so the allocator prices a rank at k·(p+q). Each factorisation also reports what
 * plain SVD loses at the same stored parameters, so the report says where re-layout wins.
 */
export async function relayoutStrategy(model: Model, engine: Engine, opts: JobOptions): Promise<Strategy> {
  const auxiliary = (layer: Layer): { p: number; q: number } => relayoutShape(layer.matrix.rows, layer.matrix.cols);
  const read = <T>(layer: Layer, fn: (w: StoredMatrix) => Promise<T>): Promise<T> =>
    withLayerBuffer(async (take) => fn(await model.readStoredMatrix(layer, take)));
  const base = await analyzeModel(model, engine, undefined, opts, (layer) => {
    if (!layer.factorisable) return undefined;
    const { p, q } = auxiliary(layer);
    return read(layer, (w) => engine.spectrum({ data: toAuxiliary(w.data, p, q), rows: p, cols: q }, opts));
  });
  const analysis: Analysis = {
    ...base,
    layers: base.layers.map((la, i) => {
      const layer = model.layers[i];
      return la.factorisable ? layerAnalysis({ ...layer, matrix: { ...layer.matrix, rows: auxiliary(layer).p, cols: auxiliary(layer).q } }, la.singularValues, base.energy) : la;
    }),
  };
  return {
    analysis,
    factor: (layer, rank, keep) => read(layer, async ({ data: w, rows, cols }) => {
      const { p, q } = auxiliary(layer);
      // Stored orientation for the plain spectrum: a transpose has the same singular values.
      const [svd, plain] = await Promise.all([
        engine.truncatedSvd({ data: toAuxiliary(w, p, q), rows: p, cols: q }, rank, opts),
        engine.spectrum({ data: w, rows, cols }, opts),
      ]);
      const k = svd.s.length, total = w.reduce((sum, x) => sum + x * x, 0);
      return keep({
        layer, rank: k, ...balanced(svd, p, q), relativeError: truncationError(svd.s, total),
        layout: { p, q, plainRelativeError: truncationError(plain.subarray(0, Math.floor(k * (p + q) / (rows + cols))), total) },
      });
    }),
  };
}
