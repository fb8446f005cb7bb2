// A small SVG line chart: one or more series, optional log y axis, vertical markers and
// highlighted points. Colours come from CSS classes so the theme decides them.
import { svg } from '../dom.js';

export interface Axis {
  min: number;
  max: number;
  log?: boolean;
  label: string;
  format(v: number): string;
}
export interface Series { points: [number, number][]; className: string }
export interface Marker { x: number; label: string; className: string }
export interface Dot { x: number; y: number; label: string; className: string }

export interface ChartSpec {
  title: string;
  x: Axis;
  y: Axis;
  series: Series[];
  markers?: Marker[];
  dots?: Dot[];
}

const W = 360, H = 200;
const PAD = { left: 52, right: 20, top: 10, bottom: 34 };
/** Beyond this many points a polyline is thinned: the screen has fewer pixels than that. */
const MAX_POINTS = 400;

function scale(axis: Axis, from: number, to: number): (v: number) => number {
  const t = (v: number) => (axis.log ? Math.log10(v) : v);
  const lo = t(axis.min), hi = t(axis.max);
  const span = hi - lo || 1;
  return (v) => from + ((t(Math.min(Math.max(v, axis.min), axis.max)) - lo) / span) * (to - from);
}

function ticks(axis: Axis): number[] {
  if (axis.log) {
    const out: number[] = [];
    const step = Math.max(1, Math.ceil((Math.log10(axis.max) - Math.log10(axis.min)) / 5));
    for (let e = Math.ceil(Math.log10(axis.min)); e <= Math.floor(Math.log10(axis.max)); e += step) out.push(10 ** e);
    return out.length > 0 ? out : [axis.min, axis.max];
  }
  return Array.from({ length: 5 }, (_, i) => axis.min + ((axis.max - axis.min) * i) / 4);
}

function thin(points: [number, number][]): [number, number][] {
  if (points.length <= MAX_POINTS) return points;
  const stride = Math.ceil(points.length / MAX_POINTS);
  return points.filter((_, i) => i % stride === 0 || i === points.length - 1);
}

export function lineChart(spec: ChartSpec): SVGElement {
  const sx = scale(spec.x, PAD.left, W - PAD.right);
  const sy = scale(spec.y, H - PAD.bottom, PAD.top);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': spec.title, class: 'chart' },
    svg('title', {}, spec.title));
  const grid = svg('g', { class: 'axis' });
  for (const v of ticks(spec.y)) {
    const y = sy(v);
    grid.append(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: 'grid' }),
      svg('text', { x: PAD.left - 4, y: y + 3, 'text-anchor': 'end' }, spec.y.format(v)));
  }
  for (const v of ticks(spec.x)) {
    grid.append(svg('text', { x: sx(v), y: H - PAD.bottom + 12, 'text-anchor': 'middle' }, spec.x.format(v)));
  }
  grid.append(
    svg('line', { x1: PAD.left, x2: W - PAD.right, y1: H - PAD.bottom, y2: H - PAD.bottom, class: 'frame' }),
    svg('line', { x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: H - PAD.bottom, class: 'frame' }),
    svg('text', { x: (PAD.left + W - PAD.right) / 2, y: H - 4, 'text-anchor': 'middle', class: 'label' }, spec.x.label),
    svg('text', { x: 10, y: H / 2, 'text-anchor': 'middle', class: 'label', transform: `rotate(-90 10 ${H / 2})` }, spec.y.label),
  );
  root.append(grid);
  for (const s of spec.series) {
    const d = thin(s.points).map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    root.append(svg('polyline', { points: d, class: `series ${s.className}` }));
  }
  (spec.markers ?? []).forEach((m, i) => {
    const x = sx(m.x);
    // Labels of markers in the right third go on the line's left, so they stay inside the chart.
    const left = x > PAD.left + (W - PAD.left - PAD.right) * (2 / 3);
    root.append(svg('g', { class: `marker ${m.className}` },
      svg('line', { x1: x, x2: x, y1: PAD.top, y2: H - PAD.bottom }),
      svg('text', { x: left ? x - 3 : x + 3, y: PAD.top + 9 + i * 11, 'text-anchor': left ? 'end' : 'start' }, m.label)));
  });
  for (const d of spec.dots ?? []) {
    root.append(svg('circle', { cx: sx(d.x), cy: sy(d.y), r: 4, class: `dot ${d.className}` }, svg('title', {}, d.label)));
  }
  return root;
}
