// The panel's three charts: the selected layer's spectrum and energy curve, and the model's tradeoff.
import type { LayerAnalysis } from '../../core/analysis.js';
import { cumulativeEnergy } from '../../core/ranks/ranks.js';
import { formatPercent } from '../../core/text/numbers.js';
import { fullRank } from '../model/allocation.js';
import type { CurvePoint } from '../model/curve.js';
import type { FidelityPoint } from '../model/fidelity.js';
import type { LayerOutcome } from '../model/totals.js';
import { lineChart, type Marker } from './lineChart.js';

/** Singular values this far below σ₁ are numerically zero; the log axis stops there. */
const LOG_FLOOR = 1e-12;

function rankMarkers(layer: LayerAnalysis, outcome: LayerOutcome): Marker[] {
  const n = layer.singularValues.length;
  return [
    { x: Math.min(outcome.rank, n), label: outcome.dense ? 'chosen (dense)' : `chosen ${outcome.rank}`, className: 'chosen' },
    { x: Math.min(layer.suggestedRank, n), label: layer.suggestedRank >= fullRank(layer) ? 'suggested (dense)' : `suggested ${layer.suggestedRank}`, className: 'suggested' },
    { x: layer.breakEvenRank, label: `break-even ${layer.breakEvenRank}`, className: 'break-even' },
  ];
}

export function spectrumChart(layer: LayerAnalysis, outcome: LayerOutcome): SVGElement {
  const sigma = layer.singularValues;
  const top = sigma[0] > 0 ? sigma[0] : 1;
  const floor = Math.max(top * LOG_FLOOR, sigma.reduce((m, s) => (s > 0 && s < m ? s : m), top));
  return lineChart({
    title: `Singular values of ${layer.name}`,
    x: { min: 1, max: Math.max(2, sigma.length), label: 'index', format: (v) => String(Math.round(v)) },
    y: { min: floor, max: top, log: true, label: 'σ', format: (v) => v.toExponential(0) },
    series: [{ points: sigma.map((s, i) => [i + 1, Math.max(s, floor)]), className: 'spectrum' }],
    markers: rankMarkers(layer, outcome),
  });
}

export function energyChart(layer: LayerAnalysis, outcome: LayerOutcome): SVGElement {
  const cum = cumulativeEnergy(layer.singularValues);
  return lineChart({
    title: `Cumulative energy of ${layer.name}`,
    x: { min: 0, max: Math.max(1, layer.singularValues.length), label: 'rank', format: (v) => String(Math.round(v)) },
    y: { min: 0, max: 1, label: 'energy kept', format: (v) => formatPercent(v, 0) },
    series: [{ points: Array.from(cum, (e, k) => [k, e]), className: 'energy' }],
    markers: rankMarkers(layer, outcome),
  });
}

/** The predicted curve, the current plan on it, and the measured point of each compression made from the panel. */
export function tradeoffChart(curve: CurvePoint[], current: CurvePoint, measured: CurvePoint[]): SVGElement {
  const maxError = Math.max(1e-9, current.proxyError, ...measured.map((p) => p.proxyError), ...curve.map((p) => p.proxyError));
  return lineChart({
    title: 'Whole model: parameters kept vs proxy error',
    x: { min: 0, max: 1, label: 'parameters kept', format: (v) => formatPercent(v, 0) },
    y: { min: 0, max: maxError, label: 'proxy error', format: (v) => v.toFixed(2) },
    series: [{ points: curve.map((p) => [p.keep, p.proxyError]), className: 'tradeoff' }],
    dots: [
      { x: current.keep, y: current.proxyError, label: 'current plan', className: 'current' },
      ...measured.map((p, i) => ({ x: p.keep, y: p.proxyError, label: `measured (compression ${i + 1})`, className: 'measured' })),
    ],
  });
}

const METRIC = { accuracy: 'accuracy', agreement: 'top-1 agreement', perplexity: 'perplexity' } as const;

interface MetricAxis { min: number; max: number; format: (v: number) => string; show: (v: number) => string }

/** A share (accuracy, agreement) from a little below the worst measurement to 100 %, so small drops stay visible. */
function shareAxis(values: number[]): MetricAxis {
  const lo = Math.min(...values);
  const min = Math.max(0, lo - Math.max(0.02, (1 - lo) * 0.2));
  // Five ticks, four steps apart: whole percents would round steps under 5 points unevenly.
  const digits = (1 - min) / 4 >= 0.05 ? 0 : 1;
  return { min, max: 1, format: (v) => formatPercent(v, digits), show: (v) => formatPercent(v, 2) };
}

/** Perplexity (lower is better, unbounded above) over the measured range with a margin either side. */
function perplexityAxis(values: number[]): MetricAxis {
  const lo = Math.min(...values), hi = Math.max(...values);
  const margin = Math.max((hi - lo) * 0.15, hi * 0.02);
  const digits = (hi - lo + 2 * margin) / 4 >= 1 ? 0 : 1;
  return { min: Math.max(1, lo - margin), max: hi + margin, format: (v) => v.toFixed(digits), show: (v) => v.toFixed(2) };
}

/**
 * Each evaluated compression at its parameters kept, joined to the original model at 100 %;
 * only points measuring what the latest one measures (accuracy needs the data settings).
 */
export function fidelityChart(points: FidelityPoint[]): SVGElement {
  const { metric } = points[points.length - 1];
  const same = points.filter((p) => p.metric === metric);
  const original = same[same.length - 1].original;
  const line: [number, number][] = [...same.map((p): [number, number] => [p.keep, p.value]), [1, original] as [number, number]].sort((a, b) => a[0] - b[0]);
  const axis = (metric === 'perplexity' ? perplexityAxis : shareAxis)(line.map(([, v]) => v));
  return lineChart({
    title: `Whole model: parameters kept vs measured ${METRIC[metric]}`,
    x: { min: 0, max: 1, label: 'parameters kept', format: (v) => formatPercent(v, 0) },
    y: { min: axis.min, max: axis.max, label: METRIC[metric], format: axis.format },
    series: [{ points: line, className: 'fidelity' }],
    dots: [
      { x: 1, y: original, label: `original: ${axis.show(original)}`, className: 'original' },
      ...same.map((p, i) => ({ x: p.keep, y: p.value, label: `measured (evaluation ${i + 1}): ${axis.show(p.value)}`, className: 'evaluated' })),
    ],
  });
}
