// Model → Analysis: every layer's spectrum and the rank numbers derived from it.
import type { Engine, SpectrumOptions } from './engines/engine.js';
import { breakEvenRank, cumulativeEnergy, paramsAtRank, suggestedRank } from './ranks/ranks.js';
import type { Capabilities, JobOptions, Layer, LayerKind, Model, ModelFormat, OutputOverhead } from './types.js';
import { formatModule, outputOverhead } from './formats/registry.js';
import { checkpoint } from './types.js';
import { lanesFor, lanesOn, mapInLanes } from './lanes.js';
import { withLayerBuffer } from './io/layerBuffers.js';

/** One layer in `analyze --json` (contract) plus additive fields the IDE uses. */
export interface LayerAnalysis {
  name: string;
  kind: LayerKind;
  shape: number[];
  params: number;
  singularValues: number[];
  breakEvenRank: number;
  suggestedRank: number;
  rows: number;
  cols: number;
  dtype: string;
  factorisable: boolean;
  /** Parameters after factorising at the suggested rank. */
  suggestedParams: number;
  /** Energy share kept at the suggested rank. */
  energyKept: number;
  /** Weight of this layer's discarded energy share in rank allocation (measured sensitivity); absent = 1. */
  sensitivity?: number;
}

/** `analyze --json` (contract). */
export interface Analysis {
  format: ModelFormat;
  path: string;
  fileBytes: number;
  totalParams: number;
  /** Of totalParams, those of tensors the file repeats byte for byte, which are kept once (types.ts's Model; additive, absent: none). */
  sharedParams?: number;
  /**
   * Stored bytes of every tensor (additive): what the bytes outside the layers' weights
   * are, which a compressed file keeps as they are. Absent in analyses cached before it.
   */
  tensorBytes?: number;
  /** What a compressed output holds besides its tensors' values (additive; absent in analyses cached before it: taken as 0). */
  overhead?: OutputOverhead;
  /** What the model's format supports (additive; absent in analyses cached before it). */
  capabilities?: Capabilities;
  /** What it supports once the module that runs it is named (`--torch-model`; formats/format.ts's withModule), where that adds anything. */
  withModule?: Capabilities;
  energy: number;
  layers: LayerAnalysis[];
}

export const DEFAULT_ENERGY = 0.99;

/**
 * A layer's spectrum measured some other way than its weights' (whitened SVD, strategy.ts),
 * or undefined for the plain one.
 */
export type SpectrumOf = (layer: Layer) => Promise<ArrayLike<number>> | undefined;

/** `lanes`: layers in flight (default: lanesOn's, or lanesFor's where `spectrumOf` computes them some other way, in this process). */
export async function analyzeModel(
  model: Model, engine: Engine, energy = DEFAULT_ENERGY, opts: JobOptions = {}, spectrumOf?: SpectrumOf,
  lanes = spectrumOf ? lanesFor(model.layers) : lanesOn(engine, model, model.layers),
): Promise<Analysis> {
  let done = 0;
  // A few layers at a time: each is read, decoded and sent to the engine, then dropped.
  const layers = await mapInLanes(model.layers, async (layer) => {
    const sigma = await (spectrumOf?.(layer) ?? weightSpectrum(model, layer, engine, opts));
    opts.progress?.report(++done / model.layers.length, layer.name);
    return layerAnalysis(layer, Array.from(sigma), energy);
  }, lanes);
  const { capabilities, withModule } = formatModule(model.format);
  return {
    format: model.format, path: model.path, fileBytes: model.fileBytes, totalParams: model.totalParams,
    ...(model.sharedParams ? { sharedParams: model.sharedParams } : {}),
    capabilities, withModule, tensorBytes: model.tensors.reduce((sum, t) => sum + t.storedBytes, 0), overhead: outputOverhead(model), energy, layers,
  };
}

/** The singular values of a layer's weights: read by the engine where it reads files, else here into a reused buffer. */
export async function weightSpectrum(model: Model, layer: Layer, engine: Engine, opts: SpectrumOptions): Promise<Float64Array> {
  const where = engine.files && model.matrixFile?.(layer);
  if (where) {
    await checkpoint(opts.signal);
    return engine.files!.spectrum(where, opts);
  }
  return withLayerBuffer(async (take) => {
    // Stored orientation: a transpose has the same singular values.
    const { data, rows, cols } = await model.readStoredMatrix(layer, take);
    await checkpoint(opts.signal);
    return engine.spectrum({ data, rows, cols }, opts);
  });
}

export function layerAnalysis(
  layer: Model['layers'][number], singular: number[], energy: number,
): LayerAnalysis {
  const { rows, cols } = layer.matrix;
  const full = Math.min(rows, cols);
  const rank = layer.factorisable ? suggestedRank(singular, rows, cols, energy) : full;
  return {
    name: layer.name, kind: layer.kind, shape: layer.shape, params: layer.params,
    singularValues: singular, breakEvenRank: breakEvenRank(rows, cols), suggestedRank: rank,
    rows, cols, dtype: layer.dtype, factorisable: layer.factorisable,
    suggestedParams: paramsAtRank(rows, cols, rank),
    energyKept: cumulativeEnergy(singular)[Math.min(rank, singular.length)],
  };
}

/** Share of the model's parameters removable at the suggested ranks (repeats kept once included). */
export function removableShare(a: Analysis): number {
  const saved = (a.sharedParams ?? 0) + a.layers.reduce((s, l) => s + l.params - l.suggestedParams, 0);
  return a.totalParams > 0 ? saved / a.totalParams : 0;
}
