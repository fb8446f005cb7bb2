// How a job gets its spectra (for planning) and its factors: plain SVD of the weights, or
// whitened SVD on calibration statistics (layers the format's collector covers, calibrate.ts);
// optionally with each layer's spectrum weighted by its measured sensitivity (sensitivity.ts).
import { analyzeModel, layerAnalysis, type Analysis } from '../analysis.js';
import type { Engine } from '../engines/engine.js';
import type { Tensor } from '../eval/tensor.js';
import { stageOf, type JobOptions, type Layer, type Model, type StoredMatrix } from '../types.js';
import { inputMoments } from './calibrate.js';
import { cumulativeEnergy, rankForEnergy } from '../ranks/ranks.js';
import { balanced, factorize, truncationError, type KeepFactors } from './factorize.js';
import { tfjsSensitivity } from './sensitivityTfjs.js';
import { runtimeSensitivity, type FactorProbe } from './sensitivityRuntime.js';
import type { WrittenVariants } from './runWritten.js';
import { withLayersSource, type LayersSource } from './layersModel.js';
import { choleskyWithJitter, whitenedFactors, whitenWeight } from './whiten.js';
import { relayoutShape, toAuxiliary } from './relayout.js';
import { withLayerBuffer } from '../io/layerBuffers.js';

export interface Strategy {
  /** Spectra the planner allocates on (whitened ones measure output error). */
  analysis: Analysis;
  factor<T>(layer: Layer, rank: number, keep: KeepFactors<T>): Promise<T>;
}

export async function plainStrategy(model: Model, engine: Engine, opts: JobOptions, analysis?: Analysis): Promise<Strategy> {
  return {
    analysis: analysis ?? await analyzeModel(model, engine, undefined, opts),
    factor: (layer, rank, keep) => factorize(model, layer, rank, engine, opts, keep),
  };
}

/** A·B (rows×k times k×cols), accumulated in f64. */
function product(a: Float32Array, b: Float32Array, rows: number, cols: number, k: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const row = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) { const aip = a[i * k + p]; for (let j = 0; j < cols; j++) row[j] += aip * b[p * cols + j]; }
    out.set(row, i * cols);
  }
  return out;
}

function weightError(w: Float32Array, a: Float32Array, b: Float32Array, rows: number, cols: number, k: number): number {
  const ab = product(a, b, rows, cols, k);
  let num = 0, den = 0;
  for (let i = 0; i < w.length; i++) { const d = w[i] - ab[i]; num += d * d; den += w[i] * w[i]; }
  return den > 0 ? Math.sqrt(num / den) : 0;
}

/** Energy a sensitivity probe keeps: near where budgets of interest put the ranks, where the model is still close to linear in the error. */
const PROBE_ENERGY = 0.9;

/** Where sensitivity probes run: the job's TF.js model (a source of its own where absent), or variants written and run in the format's runtime. */
export type ProbeSite = { tfjs?: LayersSource } | { written: WrittenVariants };

/**
 * The strategy with each factorisable layer's spectrum weighted by its measured effect on the
 * model output (sensitivity.ts): each layer is approximated alone at the rank keeping
 * PROBE_ENERGY of its spectrum, and the output error per unit of discarded energy becomes
 * the layer's weight in the allocator's objective.
 */
export async function withSensitivity(strategy: Strategy, model: Model, calibration: Tensor, opts: JobOptions, site: ProbeSite = {}): Promise<Strategy> {
  const probes: FactorProbe[] = [];
  for (const la of strategy.analysis.layers.filter((l) => l.factorisable)) {
    const layer = model.layers.find((x) => x.name === la.name)!;
    const cum = cumulativeEnergy(la.singularValues);
    const k = Math.max(1, Math.min(rankForEnergy(la.singularValues, PROBE_ENERGY), Math.min(la.rows, la.cols) - 1));
    probes.push(await strategy.factor(layer, k, async (f) => ({ factors: f, discarded: 1 - cum[f.rank] })));
  }
  const weights = 'written' in site ? await runtimeSensitivity(site.written, probes, calibration, opts)
    : await withLayersSource(model, site.tfjs, (s) => tfjsSensitivity(s, probes.map(({ factors: f, discarded }) => (
      { name: f.layer.name, approx: product(f.a, f.b, f.layer.matrix.rows, f.layer.matrix.cols, f.rank), discarded })), calibration, opts));
  const layers = strategy.analysis.layers.map((l) => (weights.has(l.name) ? { ...l, sensitivity: weights.get(l.name)! } : l));
  return { ...strategy, analysis: { ...strategy.analysis, layers } };
}

export async function whitenedStrategy(model: Model, engine: Engine, calibration: Tensor, opts: JobOptions, source?: LayersSource): Promise<Strategy> {
  // Statistics take the first half of the stage's progress, the whitened spectra the second.
  const moments = await inputMoments(model, calibration, stageOf(opts, 0, 0.5), source);
  const chol = new Map([...moments].map(([name, m]) => [name, choleskyWithJitter(m.c, m.dim)]));
  // Layers the collector covers are read once, for their whitened spectrum; the rest get the plain one.
  const whitened = (layer: Layer): Promise<Float64Array> | undefined => {
    const l = chol.get(layer.name);
    if (!l) return undefined;
    const { rows, cols } = layer.matrix;
    return model.readMatrix(layer).then((w) => engine.spectrum({ data: whitenWeight(l, w, rows, cols), rows, cols }, opts));
  };
  return {
    analysis: await analyzeModel(model, engine, undefined, stageOf(opts, 0.5, 0.5), whitened),
    async factor(layer, rank, keep) {
      const l = chol.get(layer.name);
      if (!l) return factorize(model, layer, rank, engine, opts, keep);
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
