// Human-readable output of the CLI.
import type { Analysis } from '../core/analysis.js';
import { removableShare } from '../core/analysis.js';

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}

export function formatAnalysis(a: Analysis): string {
  const rows = [['layer', 'kind', 'shape', 'params', 'break-even', 'suggested', 'params saved', 'energy kept']];
  for (const l of a.layers) {
    const dense = l.suggestedRank >= Math.min(l.rows, l.cols);
    rows.push([
      l.name, l.kind, l.shape.join('×'), formatCount(l.params), String(l.breakEvenRank),
      dense ? 'dense' : String(l.suggestedRank),
      formatCount(l.params - l.suggestedParams), `${(l.energyKept * 100).toFixed(2)} %`,
    ]);
  }
  const share = removableShare(a);
  return `${table(rows)}\n\n${a.path} (${a.format}, ${formatBytes(a.fileBytes)}): ${formatCount(a.totalParams)} params; ` +
    `${(share * 100).toFixed(1)} % removable at ${(a.energy * 100).toFixed(1)} % energy`;
}
