// A cached analysis holds every singular value, so a new energy target re-derives the
// suggestions without touching the model again.
import { layerAnalysis, type Analysis } from '../core/analysis.js';
import type { DType } from '../core/types.js';

export function withEnergy(a: Analysis, energy: number): Analysis {
  if (a.energy === energy) return a;
  return {
    ...a, energy,
    layers: a.layers.map((l) => layerAnalysis({
      name: l.name, kind: l.kind, shape: l.shape, params: l.params, dtype: l.dtype as DType,
      factorisable: l.factorisable, matrix: { rows: l.rows, cols: l.cols }, weight: l.name,
    }, l.singularValues, energy)),
  };
}
