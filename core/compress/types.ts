// What a compression job passes between planning, factorisation and writing.
import type { Layer } from '../types.js';

export type StorageDType = 'f32' | 'f16' | 'int8';
export type Method = 'svd' | 'whitened' | 'relayout';
/** What the global allocator ranks layers by: their spectra alone, or weighted by measured sensitivity. */
export type Allocation = 'spectrum' | 'sensitivity';

/** Chosen rank per layer name; a rank ≥ min(rows, cols) (or absence) leaves the layer dense. */
export type Plan = Map<string, number>;

/**
 * W ≈ A·B for the layer's matrix view (rows×cols, see Layer.matrix): A is rows×rank and
 * B is rank×cols, both row-major. A = U_k·√Σ_k, B = √Σ_k·V_kᵀ.
 * For a layer stored transposed (PyTorch Linear [out,in], ONNX Gemm transB) the stored
 * weight is (A·B)ᵀ = Bᵀ·Aᵀ: writers transpose accordingly.
 */
export interface Factorisation {
  layer: Layer;
  rank: number;
  a: Float32Array;
  b: Float32Array;
  /** ‖W − A·B‖_F / ‖W‖_F */
  relativeError: number;
  /** A replacement for the layer's bias (fine-tuning trains it); absent keeps the stored one. */
  bias?: Float32Array;
  /**
   * DeepThin re-layout (relayout.ts): A·B is instead the p×q auxiliary matrix whose first
   * rows·cols row-major entries are the stored weight's, in stored order; A is p×rank, B
   * rank×q, and relativeError is the auxiliary matrix's (its < q padding entries included).
   * `plainRelativeError` is what plain SVD loses at the same stored parameters.
   */
  layout?: { p: number; q: number; plainRelativeError: number };
}

/** Parameters the two factors store. */
export function factorParams(f: Pick<Factorisation, 'layer' | 'rank' | 'layout'>): number {
  return f.rank * (f.layout ? f.layout.p + f.layout.q : f.layer.matrix.rows + f.layer.matrix.cols);
}

/** A factorisation without its data: what layouts, topologies and reports need. */
export type FactorShape = Omit<Factorisation, 'a' | 'b'>;

/**
 * The factorised layers as writers get them: every layer's shape up front, each one's data
 * only when asked for, so a writer that loads a layer's factors as it writes them holds one
 * layer's at a time (the job keeps them in a scratch file meanwhile).
 */
export interface FactorSource {
  /** By layer name, in the model's order. */
  readonly shapes: ReadonlyMap<string, FactorShape>;
  /**
   * The layer's factors. A writer done with each layer once written can pass `into` (at least
   * factorParams(shape) floats, reused layer after layer: fresh arrays per layer were collected
   * too late to help the peak); a source may ignore it and return arrays of its own.
   */
  load(name: string, into?: Float32Array): Promise<Factorisation>;
}

export interface WriteOptions {
  /** Storage precision of the factors; undefined keeps the source's precision. */
  dtype?: StorageDType;
  /** New values for untouched tensors, by stored name (fine-tuning trains layers left dense); same shapes, stored at their source precision. TF.js layers, Keras and ONNX writers only. */
  retrained?: ReadonlyMap<string, Float32Array>;
}

/** Refuses retrained tensors a writer never met: weights a job trained must not vanish silently. */
export function checkRetrainedWritten(opts: WriteOptions, written: (name: string) => boolean, modelPath: string): void {
  const unknown = [...opts.retrained?.keys() ?? []].filter((name) => !written(name));
  if (unknown.length) throw new Error(`retrained tensors ${unknown.join(', ')} are not in ${modelPath}`);
}

/** Where writers put files: nothing appears at a final path until the whole job commits. */
export interface OutputSink {
  file(finalPath: string): Promise<OutputFile>;
  /** Makes `finalPath` a folder that the files written under it fill, appearing whole when the job commits. */
  folder(finalPath: string): Promise<void>;
}
export interface OutputFile {
  readonly path: string;
  write(chunk: Uint8Array): Promise<void>;
}

/**
 * Writes the factorised model to `out` (plus sibling files it needs, e.g. weight shards)
 * through `sink`, copying every untouched tensor as it is.
 */
export type Writer<M> = (model: M, factors: FactorSource, out: string, sink: OutputSink, opts: WriteOptions) => Promise<void>;
