// Renders the quality bench's measurements: markdown tables (RESULTS.md) and a hand-written
// SVG line chart (curve.svg), one panel per model, accuracy against params kept.

export type MethodId = 'svd' | 'whitened-plain-alloc' | 'whitened' | 'whitened-sensitivity' | 'whitened-sensitivity-finetune' | 'relayout';

export interface Cell {
  method: MethodId;
  ratio: number;
  paramsKept: number;
  bytesKept: number;
  /** Accuracy on the labels, or top-1 agreement with the original where there are none. */
  score: number;
  /** (uncompressed − compressed) score, in percentage points. */
  drop: number;
  agreement: number;
  seconds: number;
  ranks: Record<string, number>;
  /** Held-out top-1 agreement before and after training; kept: false where the trained factors were discarded as worse. */
  finetune?: { steps?: number; before: number; after: number; kept?: boolean };
  /** --method whitened wrote plain SVD's factors: they agreed better with the original on the held-out calibration inputs. */
  plainKept?: boolean;
}

export interface BenchModel {
  id: string;
  title: string;
  path: string;
  baseline: number;
  samples: number;
  labelled: boolean;
  cells: Cell[];
  finetuneSteps: number;
  /** The calibration inputs (file:key) every data-aware method used. */
  calibration?: string;
  /** Caveat about how this model's numbers were measured, printed under its table. */
  note?: string;
  /** The re-layout cells are the written model (ONNX), not dense approximations of it. */
  relayoutWritten?: boolean;
}

export function methodLabel(m: MethodId, steps: number, relayoutWritten = false): string {
  switch (m) {
    case 'svd': return 'plain SVD (allocation on weight spectra)';
    case 'whitened-plain-alloc': return 'whitened SVD (same ranks as plain SVD)';
    case 'whitened': return 'whitened SVD (allocation on whitened spectra)';
    case 'whitened-sensitivity': return 'whitened SVD + sensitivity allocation (--method whitened)';
    case 'whitened-sensitivity-finetune': return `whitened + sensitivity + fine-tuning (up to ${steps} steps)`;
    case 'relayout': return `DeepThin re-layout (${relayoutWritten ? 'written' : 'analysis only'})`;
  }
}

const METHODS: MethodId[] = ['svd', 'whitened-plain-alloc', 'whitened', 'whitened-sensitivity', 'whitened-sensitivity-finetune', 'relayout'];
const COLORS: Record<MethodId, string> = { 'svd': '#888888', 'whitened-plain-alloc': '#1f77b4', 'whitened': '#2ca02c', 'whitened-sensitivity': '#ff7f0e', 'whitened-sensitivity-finetune': '#d62728', 'relayout': '#9467bd' };
const pct = (x: number, d = 2): string => (x * 100).toFixed(d);
const signed = (x: number): string => (Math.abs(x) < 0.005 ? '0.00' : x > 0 ? `−${x.toFixed(2)}` : `+${(-x).toFixed(2)}`);

function ratios(m: BenchModel): number[] {
  return [...new Set(m.cells.map((c) => c.ratio))];
}

function modelTable(m: BenchModel): string[] {
  const rs = ratios(m);
  const metric = m.labelled ? 'accuracy' : 'top-1 agreement';
  const lines = [
    `### ${m.title}`,
    '',
    `\`${m.path}\`, ${m.samples.toLocaleString('en')} test samples, uncompressed ${metric} ${pct(m.baseline)} %. ` +
      `Cells: ${metric} % (change vs uncompressed, points).`,
    '',
    `| method | ${rs.map((r) => `--ratio ${r}`).join(' | ')} |`,
    `|---|${rs.map(() => '---').join('|')}|`,
  ];
  const row = (label: string, f: (r: number) => string): string => `| ${label} | ${rs.map(f).join(' | ')} |`;
  lines.push(row('params kept (plain / whitened)', (r) => {
    const kept = METHODS.map((id) => m.cells.find((c) => c.ratio === r && c.method === id)?.paramsKept).filter((x) => x !== undefined);
    return [...new Set(kept.map((x) => `${pct(x!, 1)} %`))].join(' / ');
  }));
  for (const id of METHODS) {
    if (!m.cells.some((c) => c.method === id)) continue;
    lines.push(row(methodLabel(id, m.finetuneSteps, m.relayoutWritten), (r) => {
      const c = m.cells.find((x) => x.ratio === r && x.method === id);
      return c ? `${pct(c.score)} (${signed(c.drop)})${c.plainKept ? ' ᵖ' : ''}` : '–';
    }));
  }
  if (m.cells.some((c) => c.plainKept)) lines.push('', 'ᵖ: plain SVD\'s factors were written: `--method whitened` also factorises with plain SVD at the same goal and keeps whichever agrees better with the original model on the held-out 10 % of the calibration inputs.');
  for (const id of ['whitened-sensitivity-finetune'] as const) {
    const ft = m.cells.filter((c) => c.method === id && c.finetune && c.ratio < 1);
    if (!ft.length) continue;
    lines.push('', `${methodLabel(id, m.finetuneSteps)}: top-1 agreement with the original on the held-out 10 % of the calibration inputs, before → after training: ` +
      `${ft.map((c) => `${c.ratio}${c.finetune!.steps ? ` (${c.finetune!.steps} steps)` : ''}: ${pct(c.finetune!.before, 1)} → ${pct(c.finetune!.after, 1)} %${c.finetune!.kept === false ? ' (worse: discarded)' : ''}`).join('; ')}.`);
  }
  const whitenedRows: MethodId[] = ['whitened-plain-alloc', 'whitened', 'whitened-sensitivity', 'whitened-sensitivity-finetune'];
  const below = m.cells.filter((c) => whitenedRows.includes(c.method)).flatMap((c) => {
    const svd = m.cells.find((x) => x.ratio === c.ratio && x.method === 'svd');
    return svd && c.score < svd.score ? [`${c.ratio} ${methodLabel(c.method, m.finetuneSteps, m.relayoutWritten)}: ${pct(c.score)} vs ${pct(svd.score)} % ${metric}, ${pct(c.agreement)} vs ${pct(svd.agreement)} % top-1 agreement`] : [];
  });
  if (below.length) lines.push('', `Whitened cells below plain SVD (whitened vs plain; top-1 agreement with the original model on the test inputs): ${below.join('; ')}.`);
  const beats = rs.filter((r) => r < 1).filter((r) => {
    const rl = m.cells.find((c) => c.ratio === r && c.method === 'relayout'), svd = m.cells.find((c) => c.ratio === r && c.method === 'svd');
    return rl && svd && rl.paramsKept <= svd.paramsKept && rl.drop < svd.drop;
  });
  if (m.cells.some((c) => c.method === 'relayout' && c.ratio < 1)) lines.push('', `DeepThin re-layout beats plain SVD at equal (or fewer) params at: ${beats.length ? beats.join(', ') : 'no ratio'}.`);
  if (m.note) lines.push('', `Note: ${m.note}`);
  const best = (r: number): Cell | undefined => m.cells.filter((c) => c.ratio === r).sort((a, b) => a.drop - b.drop)[0];
  lines.push('', `Best method per ratio (drop, points): ${rs.filter((r) => r < 1).map((r) => { const b = best(r)!; return `${r}: ${b.drop.toFixed(2)} (${methodLabel(b.method, m.finetuneSteps, m.relayoutWritten)})`; }).join('; ')}.`);
  return lines;
}

/** `round`: what the latest measuring round changed and which cells it re-measured (cells keep the code they were measured with). */
export function renderResults(models: BenchModel[], engine: string, calibration: string, round?: string): string {
  const out = [
    '## Quality: accuracy against parameters kept',
    '',
    `Measured by \`npm run bench:quality\` (bench/quality/run.ts; engine: ${engine}; stock @tensorflow/tfjs evaluation, onnxruntime-node for the ONNX model). ` +
      `Every method runs through the same \`compressFile\` as \`reducible compress\`; calibration inputs: ${calibration}, disjoint from the test set. ` +
      '"same ranks as plain SVD" isolates whitening; "allocation on whitened spectra" lets the global allocator ' +
      'rank layers by their whitened singular values (each layer\'s own output error on the calibration data); ' +
      '"sensitivity allocation" (the default of `--method whitened`) also weights each layer by how much of its error reaches the model output, ' +
      'measured by approximating that layer alone; fine-tuning distils the original model\'s logits into every weight left in the model ' +
      '(factors, biases, layers left dense; KL at temperature 1 and 2 from the same start; Adam with cosine decay from 2e-3, again from 2e-4 where that training ends no better than its start; batch 256, seeded; no labels; 90 % of the calibration inputs train, 10 % are held out) ' +
      'and keeps the trained weights only where they agree better with the original on the held-out inputs. ' +
      'Every held-out choice (whitened or plain factors, the temperature, keeping trained weights) uses one rule: higher top-1 agreement where the two differ by more than two standard errors (McNemar), otherwise lower output error. ' +
      'Plot: `bench/quality/curve.svg`.',
    '',
    ...(round ? [round, ''] : []),
  ];
  for (const m of models) out.push(...modelTable(m), '');
  return `${out.join('\n').trimEnd()}\n`;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** One panel per model: x = params kept (log scale), y = accuracy (%), a line per method. */
export function renderSvg(models: BenchModel[]): string {
  const W = 460, H = 330, L = 56, R = 14, T = 34, B = 52;
  const legendH = 22 * METHODS.length + 10;
  const width = W * Math.max(1, models.length), height = H + legendH;
  const parts: string[] = [];
  models.forEach((m, idx) => {
    const ox = idx * W;
    const pw = W - L - R, ph = H - T - B;
    const xs = ratios(m);
    const kept = m.cells.map((c) => c.paramsKept);
    const xmin = Math.log(Math.min(...kept, ...xs) * 0.9), xmax = Math.log(1.05);
    const scores = m.cells.map((c) => c.score * 100);
    const ytop = Math.ceil(Math.max(m.baseline * 100, ...scores) + 0.5);
    const ybot = Math.floor(Math.min(...scores) - 0.5);
    const px = (v: number): number => ox + L + (Math.log(v) - xmin) / (xmax - xmin) * pw;
    const py = (v: number): number => T + (ytop - v) / (ytop - ybot) * ph;
    parts.push(`<text x="${ox + W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(m.title)}</text>`);
    parts.push(`<rect x="${ox + L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
    for (const r of xs) {
      parts.push(`<line x1="${px(r).toFixed(1)}" y1="${T}" x2="${px(r).toFixed(1)}" y2="${T + ph}" stroke="#ddd"/>`);
      parts.push(`<text x="${px(r).toFixed(1)}" y="${T + ph + 16}" text-anchor="middle" font-size="11">${Math.round(r * 100)} %</text>`);
    }
    const step = Math.max(1, Math.ceil((ytop - ybot) / 8));
    for (let v = ytop; v >= ybot; v -= step) {
      parts.push(`<line x1="${ox + L}" y1="${py(v).toFixed(1)}" x2="${ox + L + pw}" y2="${py(v).toFixed(1)}" stroke="#eee"/>`);
      parts.push(`<text x="${ox + L - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end" font-size="11">${v}</text>`);
    }
    parts.push(`<line x1="${ox + L}" y1="${py(m.baseline * 100).toFixed(1)}" x2="${ox + L + pw}" y2="${py(m.baseline * 100).toFixed(1)}" stroke="#000" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${ox + L + pw - 4}" y="${(py(m.baseline * 100) - 4).toFixed(1)}" text-anchor="end" font-size="10">uncompressed ${pct(m.baseline)} %</text>`);
    parts.push(`<text x="${ox + L + pw / 2}" y="${T + ph + 36}" text-anchor="middle" font-size="12">parameters kept (log scale)</text>`);
    parts.push(`<text transform="translate(${ox + 16},${T + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">${m.labelled ? 'test accuracy' : 'top-1 agreement'} (%)</text>`);
    for (const id of METHODS) {
      const cs = m.cells.filter((c) => c.method === id).sort((a, b) => a.paramsKept - b.paramsKept);
      if (!cs.length) continue;
      const pts = cs.map((c) => `${px(c.paramsKept).toFixed(1)},${py(c.score * 100).toFixed(1)}`);
      parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${COLORS[id]}" stroke-width="2"/>`);
      for (const p of pts) { const [x, y] = p.split(','); parts.push(`<circle cx="${x}" cy="${y}" r="3" fill="${COLORS[id]}"/>`); }
    }
  });
  METHODS.forEach((id, i) => {
    const y = H + 14 + i * 22;
    parts.push(`<line x1="${L}" y1="${y}" x2="${L + 28}" y2="${y}" stroke="${COLORS[id]}" stroke-width="2"/>`);
    parts.push(`<text x="${L + 36}" y="${y + 4}" font-size="12">${esc(methodLabel(id, models[0]?.finetuneSteps ?? 0))}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`;
}
