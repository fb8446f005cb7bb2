// `<out>.report.json` (contract).
import { DTYPE_BYTES } from '../io/decode.js';
import type { Model, OutputOverhead } from '../types.js';
import type { FinetuneResult } from './distil.js';
import type { MethodChoice } from './guard.js';
import type { Refinement } from './refine.js';
import { factorParams, type Allocation, type FactorShape, type Method, type StorageDType } from './types.js';

export interface LayerReport {
  name: string; rank: number; dtype: string; relativeError: number;
  /** `--method relayout`: the auxiliary layout, and plain SVD's error at the same stored parameters. */
  layout?: { p: number; q: number; plainRelativeError: number };
}

export interface CompressReport {
  originalParams: number;
  compressedParams: number;
  originalBytes: number;
  compressedBytes: number;
  predictedBytes: number;
  layers: LayerReport[];
  /** Additive fields. */
  source: string;
  output: string;
  files: string[];
  format: string;
  engine: string;
  method: Method;
  /** How a --ratio budget was spread over layers. */
  allocation?: Allocation;
  /** --method whitened on TF.js layers models: held-out fidelity of whitened and plain factors, and which were written. */
  methodChoice?: MethodChoice;
  finetune?: FinetuneResult;
  /** Sensitivity allocation's ranks as refined on calibration inputs, with the fidelity before and after. */
  refinement?: Refinement;
}

const STORAGE_BYTES: Record<StorageDType, number> = { f32: 4, f16: 2, int8: 1 };

/** Storage dtype a factor of this tensor gets: the requested one, else the source's. */
export function factorBytesPerParam(sourceDtype: keyof typeof DTYPE_BYTES, requested?: StorageDType): number {
  if (requested) return STORAGE_BYTES[requested];
  return Math.min(DTYPE_BYTES[sourceDtype], 4);
}

/**
 * The output's parameters, and its bytes: the tensors' (factors in their storage dtype, the rest
 * as stored) and `overhead`, what its format writes besides them (registry.ts's outputOverhead).
 */
export function predictBytes(model: Model, factors: ReadonlyMap<string, FactorShape>, overhead: OutputOverhead, requested?: StorageDType): { params: number; bytes: number } {
  const replaced = new Map([...factors.values()].map((f) => [f.layer.weight, f]));
  let params = 0, bytes = overhead.base + overhead.perLayer * factors.size;
  for (const t of model.tensors) {
    const f = replaced.get(t.name);
    if (f) {
      // A is rows×rank, B rank×cols.
      const p = factorParams(f);
      params += p;
      bytes += p * factorBytesPerParam(t.dtype, requested);
    } else {
      params += t.shape.reduce((a, b) => a * b, 1);
      bytes += t.storedBytes;
    }
  }
  return { params, bytes };
}

export function storageName(sourceDtype: string, requested?: StorageDType): string {
  return requested ?? ({ float32: 'f32', float16: 'f16', bfloat16: 'bf16', float64: 'f64', uint8: 'int8', uint16: 'int16' } as Record<string, string>)[sourceDtype] ?? sourceDtype;
}
