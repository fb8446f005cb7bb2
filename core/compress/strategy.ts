// How a job gets its spectra (for planning) and its factors: plain SVD of the weights, or
// whitened SVD on calibration statistics (layers the format's collector covers, calibrate.ts).
import { analyzeModel, layerAnalysis, type Analysis } from '../analysis.js';
import type { Engine } from '../engines/engine.js';
import type { Tensor } from '../eval/tensor.js';
import type { JobOptions, Layer, Model } from '../types.js';
import { inputMoments } from './calibrate.js';
import { factorize } from './factorize.js';
import type { Factorisation } from './types.js';
import { choleskyWithJitter, whitenedFactors, whitenWeight } from './whiten.js';

export interface Strategy {
  /** Spectra the planner allocates on (whitened ones measure output error). */
  analysis: Analysis;
  factor(layer: Layer, rank: number): Promise<Factorisation>;
}

export async function plainStrategy(model: Model, engine: Engine, opts: JobOptions, analysis?: Analysis): Promise<Strategy> {
  return {
    analysis: analysis ?? await analyzeModel(model, engine, undefined, opts),
    factor: (layer, rank) => factorize(model, layer, rank, engine, opts),
  };
}

function weightError(w: Float32Array, a: Float32Array, b: Float32Array, rows: number, cols: number, k: number): number {
  let num = 0, den = 0;
  const row = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) { const aip = a[i * k + p]; for (let j = 0; j < cols; j++) row[j] += aip * b[p * cols + j]; }
    for (let j = 0; j < cols; j++) { const d = w[i * cols + j] - row[j]; num += d * d; den += w[i * cols + j] ** 2; }
  }
  return den > 0 ? Math.sqrt(num / den) : 0;
}

export async function whitenedStrategy(model: Model, engine: Engine, calibration: Tensor, opts: JobOptions): Promise<Strategy> {
  const moments = await inputMoments(model, calibration, opts);
  const chol = new Map([...moments].map(([name, m]) => [name, choleskyWithJitter(m.c, m.dim)]));
  const plain = await analyzeModel(model, engine, undefined, opts);
  const layers = await Promise.all(plain.layers.map(async (la) => {
    const l = chol.get(la.name);
    const layer = model.layers.find((x) => x.name === la.name)!;
    if (!l) return la;
    const m = whitenWeight(l, await model.readMatrix(layer), layer.matrix.rows, layer.matrix.cols);
    const sigma = await engine.spectrum({ data: m, rows: layer.matrix.rows, cols: layer.matrix.cols }, opts);
    return layerAnalysis(layer, Array.from(sigma), plain.energy);
  }));
  return {
    analysis: { ...plain, layers },
    async factor(layer, rank) {
      const l = chol.get(layer.name);
      if (!l) return factorize(model, layer, rank, engine, opts);
      const { rows, cols } = layer.matrix;
      const w = await model.readMatrix(layer);
      const f = await whitenedFactors(w, rows, cols, l, rank, engine, opts);
      return { layer, rank: f.whitenedSigma.length, a: f.a, b: f.b, relativeError: weightError(w, f.a, f.b, rows, cols, f.whitenedSigma.length) };
    },
  };
}
