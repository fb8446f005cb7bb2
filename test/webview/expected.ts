// What the panel must show, computed here straight from the core, independently of webview/.
import type { Analysis } from '../../core/analysis.js';
import { allocate } from '../../core/ranks/allocate.js';

export interface Expected {
  ranks: Map<string, number>;
  params: number;
  /** Bytes with the factors in each dtype, for an all-float32 model: dense layers and unlayered tensors keep 4 bytes a parameter. */
  bytes: { f32: number; f16: number; int8: number };
}

/** The allocation for keeping `keep` of all parameters: layers' budget is that minus the unlayered ones. */
export function expectedAllocation(a: Analysis, keep: number, pins: Record<string, number> = {}): Expected {
  const unlayered = a.totalParams - a.layers.reduce((s, l) => s + l.params, 0);
  const alloc = allocate(a.layers.map((l) => ({
    rows: l.rows, cols: l.cols, sigma: l.singularValues,
    pinned: l.factorisable ? pins[l.name] : Math.min(l.rows, l.cols),
  })), keep * a.totalParams - unlayered);
  const bytesAt = (perParam: number): number => unlayered * 4 + a.layers.reduce((s, l, i) => {
    const k = alloc.ranks[i];
    return s + (k >= Math.min(l.rows, l.cols) ? l.rows * l.cols * 4 : k * (l.rows + l.cols) * perParam);
  }, 0);
  return {
    ranks: new Map(a.layers.map((l, i) => [l.name, alloc.ranks[i]])), params: alloc.params + unlayered,
    bytes: { f32: bytesAt(4), f16: bytesAt(2), int8: bytesAt(1) },
  };
}
