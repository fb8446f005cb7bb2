// The per-layer table: one row per layer, built once per analysis and updated in place on
// every plan change, so dragging a slider never rebuilds 200 rows.
import type { LayerAnalysis } from '../../core/analysis.js';
import type { SortKey } from '../../shared/panelProtocol.js';
import { h } from '../dom.js';
import { formatPercent } from '../../core/text/numbers.js';
import { formatInteger, formatError } from '../format.js';
import type { LayerOutcome } from '../model/totals.js';

export interface TableEvents {
  select(name: string): void;
  pin(name: string, rank: number): void;
  unpin(name: string): void;
  sort(key: SortKey): void;
}

interface Row {
  layer: LayerAnalysis;
  index: number;
  tr: HTMLTableRowElement;
  slider: HTMLInputElement;
  number: HTMLInputElement;
  rankText: HTMLElement;
  unpin: HTMLButtonElement;
  energy: HTMLElement;
  error: HTMLElement;
  after: HTMLElement;
  /** The rank and pin state the row last showed. */
  shown?: string;
}

// Shape has no order of its own, so its header does not sort.
const COLUMNS: { key?: SortKey; label: string; num?: boolean }[] = [
  { key: 'index', label: '#', num: true }, { key: 'name', label: 'Layer' }, { key: 'kind', label: 'Kind' },
  { label: 'Shape' }, { key: 'params', label: 'Params', num: true }, { key: 'breakEven', label: 'Break-even', num: true },
  { key: 'rank', label: 'Rank' }, { key: 'energy', label: 'Energy kept', num: true }, { key: 'error', label: 'Rel. error', num: true },
  { key: 'after', label: 'Params after', num: true },
];

function sortValue(row: Row, o: LayerOutcome, key: SortKey): number | string {
  switch (key) {
    case 'index': return row.index;
    case 'name': return row.layer.name;
    case 'kind': return row.layer.kind;
    case 'params': return row.layer.params;
    case 'breakEven': return row.layer.breakEvenRank;
    case 'rank': return o.rank;
    case 'energy': return o.energyKept;
    case 'error': return o.relativeError;
    case 'after': return o.params;
  }
}

/** Whether a sort key depends on the plan, so a plan change can reorder rows. */
const PLAN_KEYS = new Set<SortKey>(['rank', 'energy', 'error', 'after']);

export class LayerTable {
  readonly element: HTMLElement;
  private readonly head = h('tr', { role: 'row' });
  private readonly body = h('tbody', { role: 'rowgroup' });
  private rows: Row[] = [];
  private byName = new Map<string, Row>();
  private order: Row[] = [];

  constructor(private readonly events: TableEvents) {
    for (const c of COLUMNS) {
      this.head.append(h('th', { scope: 'col', role: 'columnheader', 'data-key': c.key, class: c.num ? 'num' : undefined },
        c.key ? h('button', { type: 'button', class: 'sort' }, c.label) : c.label));
    }
    this.head.addEventListener('click', (e) => {
      const th = (e.target as Element).closest('th[data-key]');
      if (th) this.events.sort(th.getAttribute('data-key') as SortKey);
    });
    this.body.addEventListener('input', (e) => this.onRankInput(e.target as HTMLInputElement, 'input'));
    this.body.addEventListener('change', (e) => this.onRankInput(e.target as HTMLInputElement, 'change'));
    this.body.addEventListener('click', (e) => {
      const target = e.target as Element;
      const row = this.rowOf(target);
      if (!row) return;
      if (target.closest('button.unpin')) this.events.unpin(row.layer.name);
      else if (!target.closest('input')) this.events.select(row.layer.name);
    });
    // Explicit roles: the rows are laid out as grids (styles.ts), which takes table semantics away.
    this.element = h('table', { class: 'layers', role: 'table', 'aria-label': 'Layers' },
      h('thead', { role: 'rowgroup' }, this.head), this.body);
  }

  setLayers(layers: LayerAnalysis[]): void {
    this.rows = layers.map((l, i) => this.buildRow(l, i));
    this.byName = new Map(this.rows.map((r) => [r.layer.name, r]));
    this.order = [];
    this.body.replaceChildren(...this.rows.map((r) => r.tr));
  }

  update(outcomes: LayerOutcome[], pins: Record<string, number>): void {
    this.rows.forEach((row, i) => {
      const o = outcomes[i];
      const pinned = pins[row.layer.name] !== undefined;
      // A budget move changes few ranks; rows whose rank and pin are unchanged stay as they are.
      const key = `${o.rank}${pinned ? 'p' : ''}`;
      if (row.shown === key) return;
      row.shown = key;
      const label = o.dense ? 'dense' : String(o.rank);
      row.tr.classList.toggle('dense', o.dense);
      row.tr.classList.toggle('pinned', pinned);
      row.tr.dataset.rank = String(o.rank);
      row.slider.value = String(o.dense ? Number(row.slider.max) : o.rank);
      row.slider.setAttribute('aria-valuetext', o.dense ? 'dense' : `rank ${o.rank}`);
      row.number.value = String(o.rank);
      row.rankText.textContent = pinned ? `${label} (pinned)` : label;
      row.unpin.hidden = !pinned;
      row.energy.textContent = formatPercent(o.energyKept, 2);
      row.error.textContent = formatError(o.relativeError);
      row.after.textContent = formatInteger(o.params);
    });
  }

  /** Orders and filters the rows; rows are only moved when the order really changed. */
  arrange(outcomes: LayerOutcome[], sort: { key: SortKey; descending: boolean }, filter: string): void {
    const sign = sort.descending ? -1 : 1;
    const order = [...this.rows].sort((a, b) => {
      const va = sortValue(a, outcomes[a.index], sort.key), vb = sortValue(b, outcomes[b.index], sort.key);
      return (va < vb ? -sign : va > vb ? sign : 0) || a.index - b.index;
    });
    if (order.some((r, i) => this.order[i] !== r)) {
      const focused = document.activeElement;
      this.body.append(...order.map((r) => r.tr));
      if (focused instanceof HTMLElement && this.body.contains(focused)) focused.focus();
      this.order = order;
    }
    const needle = filter.trim().toLowerCase();
    for (const r of this.rows) {
      r.tr.hidden = needle !== '' && !r.layer.name.toLowerCase().includes(needle) && !r.layer.kind.includes(needle);
    }
    for (const th of this.head.querySelectorAll('th[data-key]')) {
      const on = th.getAttribute('data-key') === sort.key;
      if (on) th.setAttribute('aria-sort', sort.descending ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    }
  }

  /** Whether rows must be rearranged after the plan changed under this sort key. */
  static planSorted(key: SortKey): boolean {
    return PLAN_KEYS.has(key);
  }

  select(name: string | undefined): void {
    for (const r of this.rows) {
      if (r.layer.name === name) r.tr.setAttribute('aria-current', 'true');
      else r.tr.removeAttribute('aria-current');
    }
  }

  reveal(name: string): void {
    this.byName.get(name)?.tr.scrollIntoView({ block: 'nearest' });
  }

  private rowOf(el: Element): Row | undefined {
    const tr = el.closest('tr');
    return tr ? this.byName.get(tr.dataset.name ?? '') : undefined;
  }

  private onRankInput(input: HTMLInputElement, kind: 'input' | 'change'): void {
    const row = this.rowOf(input);
    if (!row) return;
    // Sliders act live; the number field acts when its edit is committed.
    if ((input === row.slider && kind === 'input') || (input === row.number && kind === 'change')) {
      const value = Number(input.value);
      if (Number.isFinite(value)) this.events.pin(row.layer.name, value);
      // Show the rank the typed value became (e.g. dense), even when that changed nothing.
      if (input === row.number) input.value = row.tr.dataset.rank ?? input.value;
    }
  }

  private buildRow(layer: LayerAnalysis, index: number): Row {
    const full = Math.min(layer.rows, layer.cols);
    const adjustable = layer.factorisable && layer.breakEvenRank >= 1;
    // The slider's last stop is "dense": ranks between break-even and full only cost.
    const slider = h('input', {
      type: 'range', min: 1, max: layer.breakEvenRank + 1, step: 1, disabled: !adjustable,
      'aria-label': `Rank of ${layer.name}`,
    });
    const number = h('input', {
      type: 'number', min: 1, max: full, step: 1, disabled: !adjustable, class: 'rank-number',
      'aria-label': `Rank of ${layer.name} (number)`,
    });
    const rankText = h('span', { class: 'rank-text' });
    const unpin = h('button', { type: 'button', class: 'unpin', 'aria-label': `Unpin ${layer.name}`, title: 'Unpin: let the budget decide' }, '×');
    const energy = h('td', { class: 'num' }), error = h('td', { class: 'num' }), after = h('td', { class: 'num' });
    const tr = h('tr', { role: 'row', 'data-name': layer.name },
      h('td', { class: 'num' }, String(index + 1)),
      h('td', {}, h('button', { type: 'button', class: 'link', title: layer.name }, layer.name)),
      h('td', {}, layer.kind),
      h('td', {}, layer.shape.join('×')),
      h('td', { class: 'num' }, formatInteger(layer.params)),
      h('td', { class: 'num' }, String(layer.breakEvenRank)),
      h('td', { class: 'rank' }, slider, number, rankText, unpin),
      energy, error, after,
    );
    for (const td of tr.children) td.setAttribute('role', 'cell');
    return { layer, index, tr, slider, number, rankText, unpin, energy, error, after };
  }
}
