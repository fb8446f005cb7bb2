// Human-readable output of `reducible analyze`. Numbers and tables are formatted by
// core/text, which the language server and the panel share.
import type { Analysis } from '../core/analysis.js';
import { removableShare } from '../core/analysis.js';
import { formatBytes, formatCount, formatPercent } from '../core/text/numbers.js';
import { table } from '../core/text/table.js';

export function formatAnalysis(a: Analysis): string {
  const rows = [['layer', 'kind', 'shape', 'params', 'break-even', 'suggested', 'params saved', 'energy kept']];
  for (const l of a.layers) {
    const dense = l.suggestedRank >= Math.min(l.rows, l.cols);
    rows.push([
      l.name, l.kind, l.shape.join('×'), formatCount(l.params), String(l.breakEvenRank),
      dense ? 'dense' : String(l.suggestedRank),
      formatCount(l.params - l.suggestedParams), formatPercent(l.energyKept, 2),
    ]);
  }
  const share = removableShare(a);
  const repeats = a.sharedParams ? ` (${formatCount(a.sharedParams)} of them repeat other tensors byte for byte: kept once)` : '';
  return `${table(rows)}\n\n${a.path} (${a.format}, ${formatBytes(a.fileBytes)}): ${formatCount(a.totalParams)} params${repeats}; ` +
    `${formatPercent(share)} removable at ${formatPercent(a.energy)} energy`;
}
