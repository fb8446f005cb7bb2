// How one layer's analysis reads to a person: sparkline, verdict line, hover card.
import type { LayerAnalysis } from '../core/analysis.js';
import { DTYPE_BYTES } from '../core/io/decode.js';
import { rankForEnergy } from '../core/ranks/ranks.js';
import type { DType } from '../core/types.js';
import { formatBytes, formatCount, formatPercent } from '../core/text/numbers.js';

const BLOCKS = '▁▂▃▄▅▆▇█';

/** Decades of σ/σ_max the sparkline spans: trained spectra fall steeply, a linear scale shows one bar. */
const DECADES = 3;

/** The spectrum as unicode blocks on a log scale; each column is the largest σ it covers. */
export function sparkline(sigma: number[], width = 32): string {
  if (sigma.length === 0 || !(sigma[0] > 0)) return '';
  const cols = Math.min(width, sigma.length);
  let out = '';
  for (let c = 0; c < cols; c++) {
    const ratio = sigma[Math.floor((c * sigma.length) / cols)] / sigma[0];
    const v = ratio > 0 ? 1 + Math.log10(ratio) / DECADES : 0;
    out += BLOCKS[Math.min(BLOCKS.length - 1, Math.max(0, Math.round(v * (BLOCKS.length - 1))))];
  }
  return out;
}

/** True when the suggested rank stores fewer parameters than the dense matrix. */
export function worthFactorising(l: LayerAnalysis): boolean {
  return l.factorisable && l.suggestedRank < Math.min(l.rows, l.cols);
}

export function savedShare(l: LayerAnalysis): number {
  return l.params > 0 ? (l.params - l.suggestedParams) / l.params : 0;
}

/** One line: "factorise to rank 48: −71 % params, 99.0 % energy" or why the layer stays dense. */
export function verdict(l: LayerAnalysis, energy: number): string {
  if (!l.factorisable) return `keep dense: ${l.kind} layers are not factorised`;
  if (worthFactorising(l)) return `factorise to rank ${l.suggestedRank}: −${Math.round(savedShare(l) * 100)} % params, ${formatPercent(l.energyKept)} energy`;
  const k = rankForEnergy(l.singularValues, energy);
  return `keep dense: ${formatPercent(energy)} energy needs rank ${k}, above break-even ${l.breakEvenRank}`;
}

export function hoverMarkdown(l: LayerAnalysis, energy: number, modelName: string): string {
  const bytesPer = DTYPE_BYTES[l.dtype as DType] ?? 4;
  const saved = l.params - l.suggestedParams;
  const rows = [
    ['shape', `${l.shape.join(' × ')} (matrix ${l.rows} × ${l.cols}, ${l.dtype})`],
    ['params', worthFactorising(l) ? `${formatCount(l.params)} → ${formatCount(l.suggestedParams)}` : formatCount(l.params)],
    ['break-even rank', String(l.breakEvenRank)],
    ['suggested rank', worthFactorising(l) ? `${l.suggestedRank} of ${Math.min(l.rows, l.cols)}` : 'dense'],
    ['params saved', `${formatCount(saved)} (${formatPercent(savedShare(l))})`],
    ['bytes saved', formatBytes(saved * bytesPer)],
    ['energy kept', formatPercent(l.energyKept, 2)],
  ];
  return [
    `**${l.name}** · ${l.kind} · ${modelName}`,
    '',
    `\`${sparkline(l.singularValues)}\` σ spectrum, log scale over ${DECADES} decades (${l.singularValues.length} values)`,
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    `**${verdict(l, energy)}**`,
  ].join('\n');
}
