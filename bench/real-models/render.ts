// Markdown for the real-models bench: one table per model from its kept cells, and how well the
// CLI's own error figure (the panel's proxy error) ranks the plans by what they actually cost.
import { cellName, dropPoints, METHODS, type Cell } from './cell.js';
import type { Task } from './tasks.js';

const pct = (x: number | undefined): string => (x === undefined ? '–' : `${(x * 100).toFixed(2)} %`);
const gib = (b: number): string => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(0)} MiB`);

export function methodLabel(c: Pick<Cell, 'method' | 'finetuneSteps' | 'calibrationInputs'>): string {
  const label = { svd: 'plain SVD', whitened: '--method whitened', finetune: `--method whitened --finetune ${c.finetuneSteps}` }[c.method];
  return c.calibrationInputs ? `${label}, first ${c.calibrationInputs} calibration inputs only` : label;
}

/** Ranks 1..n, ties sharing their mean rank. */
function ranks(xs: number[]): number[] {
  const order = xs.map((x, i) => [x, i]).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    for (let k = i; k <= j; k++) r[order[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation; undefined below three pairs, where it says nothing. */
export function spearman(a: number[], b: number[]): number | undefined {
  if (a.length < 3) return undefined;
  const ra = ranks(a), rb = ranks(b);
  const m = (ra.length + 1) / 2;
  let num = 0, da = 0, db = 0;
  ra.forEach((x, i) => { num += (x - m) * (rb[i] - m); da += (x - m) ** 2; db += (rb[i] - m) ** 2; });
  return da && db ? num / Math.sqrt(da * db) : undefined;
}

const order = (a: Cell, b: Cell): number =>
  METHODS.indexOf(a.method) - METHODS.indexOf(b.method) || (a.calibrationInputs ?? 0) - (b.calibrationInputs ?? 0) || b.ratio - a.ratio;

/** The table of one model's cells; `compare` (a --dry run) adds the kept cell's metric beside each new one. */
export function modelTable(task: Task<unknown>, cells: Cell[], compare?: Map<string, Cell>): string {
  const base = cells[0].original;
  const extras = Object.keys(base.extra);
  const lines = [
    `### ${task.title}`, '',
    `Original model: ${task.metricName} ${pct(base.metric)}${extras.map((k) => `, ${k} ${pct(base.extra[k])}`).join('')}. Agreement: ${task.agreementName}.`, '',
    `| method | --ratio | params kept | ${task.metricName} | drop (points) |${extras.map((k) => ` ${k} |`).join('')} agreement | proxy error | layers factorised | compress wall | peak RSS | load (1 min) |${compare ? ' kept cell\'s metric |' : ''}`,
    `|---|---|---|---|---|${extras.map(() => '---|').join('')}---|---|---|---|---|---|${compare ? '---|' : ''}`,
  ];
  for (const c of [...cells].sort(order)) {
    const failed = c.compress.error ?? c.evalError;
    const kept = compare?.get(cellName(c));
    // The whitened method's guard may keep plain SVD's factors (judged on held-out calibration inputs).
    const guard = c.plan?.methodChoice?.kept === 'svd' ? ' (guard kept plain SVD factors)' : c.deepCutRefusal ? ' (refused as a deep cut; with --allow-deep-cuts)' : '';
    lines.push(`| ${methodLabel(c)}${guard} | ${c.ratio} | ${c.plan ? pct(c.plan.paramsKept) : '–'} | ${failed ? `**failed**: ${failed.replace(/\|/g, '\\|')}` : pct(c.compressed?.metric)} | ${dropPoints(c)?.toFixed(2) ?? '–'} |${extras.map((k) => ` ${pct(c.compressed?.extra[k])} |`).join('')} ${pct(c.agreement)} | ${c.plan?.proxyError.toFixed(4) ?? '–'} | ${c.plan ? `${Object.keys(c.plan.ranks).length} / ${c.plan.analysedLayers}` : '–'} | ${c.compress.seconds.toFixed(1)} s | ${gib(c.compress.peakRssBytes)} | ${c.load.cell[0].toFixed(1)} |${compare ? ` ${kept ? pct(kept.compressed?.metric) : '–'} |` : ''}`);
  }
  const ok = cells.filter((c) => c.plan && c.compressed);
  const rho = spearman(ok.map((c) => c.plan!.proxyError), ok.map((c) => dropPoints(c)!));
  const rhoAgree = spearman(ok.map((c) => c.plan!.proxyError), ok.map((c) => -c.agreement!));
  if (ok.length >= 3) {
    const say = (r: number | undefined): string => r?.toFixed(2) ?? 'undefined (one side is the same in every cell)';
    lines.push('', `Spearman rank correlation over these ${ok.length} cells between the proxy error and the drop: ${say(rho)}; between the proxy error and disagreement (1 − agreement): ${say(rhoAgree)}.`);
  }
  return lines.join('\n');
}

/**
 * The proxy error against the points lost, pooled over every model's measured cells: one table's
 * three ratios rank little on their own. Per method, since a whitened plan's per-layer errors are
 * its factors' errors on the weights, which whitening trades for error on the layer's outputs.
 */
function pooledCorrelation(cells: Cell[]): string {
  const ok = cells.filter((c) => c.plan && c.compressed);
  const row = (label: string, set: Cell[]): string =>
    `| ${label} | ${set.length} | ${spearman(set.map((c) => c.plan!.proxyError), set.map((c) => dropPoints(c)!))?.toFixed(2) ?? '–'} | ${spearman(set.map((c) => c.plan!.proxyError), set.map((c) => -c.agreement!))?.toFixed(2) ?? '–'} |`;
  return ['### Does the proxy error rank plans by what they cost?', '',
    'Spearman rank correlation of the proxy error with the drop in points and with disagreement (1 − agreement), pooled over the models\' measured cells.', '',
    '| cells | n | ρ(proxy error, drop) | ρ(proxy error, disagreement) |', '|---|---|---|---|',
    ...METHODS.map((m) => [m, ok.filter((c) => c.method === m)] as const).filter(([, set]) => set.length).map(([m, set]) => row(m === 'svd' ? 'plain SVD' : m, set)),
    row('all', ok)].join('\n');
}

export function renderResults(tasks: Task<unknown>[], cellsOf: (id: string) => Cell[], notes: string): string {
  const parts = ['# Quality on real pretrained models (bench/real-models)', '', notes.trim()];
  for (const t of tasks) {
    const cells = cellsOf(t.id);
    if (cells.length) parts.push('', modelTable(t, cells));
  }
  parts.push('', pooledCorrelation(tasks.flatMap((t) => cellsOf(t.id))));
  return `${parts.join('\n')}\n`;
}
