// The factors' precision the panel starts from: the model's own, as the CLI keeps it without --dtype.
import type { LayerAnalysis } from '../../core/analysis.js';
import type { StorageDType } from '../../shared/panelProtocol.js';

/** The storage dtype closest to how this layer (the model's largest) is stored. */
export function storedDtype(layer: LayerAnalysis | undefined): StorageDType {
  const dtype = layer?.dtype ?? '';
  if (/^(float16|bfloat16)$/.test(dtype)) return 'f16';
  if (/^u?int8$/.test(dtype)) return 'int8';
  return 'f32';
}
