// The panel: holds the analysis and the user's choices, derives the plan from them, and
// keeps every view and the persisted state in step with it.
import type { Analysis } from '../core/analysis.js';
import type { CompressReport } from '../core/compress/report.js';
import type { HostToPanel, PanelEvaluation, PanelStatus, PanelViewState, PlanFile, SortKey, StorageDType } from '../shared/panelProtocol.js';
import { h } from './dom.js';
import { chooseRanks, normaliseRank } from './model/allocation.js';
import { tradeoffCurve, type CurvePoint } from './model/curve.js';
import { storedDtype } from './model/dtype.js';
import { fidelityPoint, type FidelityPoint } from './model/fidelity.js';
import { layerOutcome, totals, type LayerOutcome, type Totals } from './model/totals.js';
import { BudgetControls } from './view/budgetControls.js';
import { energyChart, fidelityChart, spectrumChart, tradeoffChart } from './view/charts.js';
import { Header } from './view/header.js';
import { LayerTable } from './view/layerTable.js';
import { ReportView } from './view/reportView.js';
import { runInSlices, type SlicedJob } from './slices.js';
import type { PanelHost } from './vscodeApi.js';

const INITIAL: PanelViewState = {
  goal: 'ratio', keep: 0.5, energy: 0.99, pins: {}, sort: { key: 'index', descending: false }, filter: '',
};

export class PanelApp {
  private state: PanelViewState;
  private analysis?: Analysis;
  private status: PanelStatus = {};
  private outcomes: LayerOutcome[] = [];
  private totals?: Totals;
  private curve: CurvePoint[] = [];
  private curveJob?: SlicedJob;
  /** Truncation error of each compression run from this panel on this model, as curve points. */
  private measured: CurvePoint[] = [];
  /** What evaluating those compressions' outputs measured, in the order the results came. */
  private evaluated: FidelityPoint[] = [];
  /** The measured-fidelity figure and the points it was drawn from: budget moves leave it as drawn. */
  private fidelity?: { points: FidelityPoint[]; count: number; figure: HTMLElement };
  private readonly report = new ReportView();
  private readonly header = new Header();
  private readonly budget: BudgetControls;
  private readonly table: LayerTable;
  private readonly charts = h('section', { class: 'charts', 'aria-label': 'Charts' });
  /** Layer and rank the layer charts show; undefined when they must be redrawn regardless. */
  private layerChartsKey?: string;
  private readonly filter = h('vscode-textfield', { type: 'search', placeholder: 'Filter by name or kind', 'aria-label': 'Filter layers' });

  constructor(root: HTMLElement, private readonly host: PanelHost) {
    this.state = { ...INITIAL, ...host.getState() };
    this.budget = new BudgetControls({
      goal: (goal) => this.change({ goal }),
      value: (v) => this.change(this.state.goal === 'ratio' ? { keep: v } : { energy: v }),
      dtype: (dtype) => { this.state.dtype = dtype; this.render(); this.host.setState(this.state); },
      method: (method) => { this.state.method = method; this.host.setState(this.state); },
      compress: () => this.post('compress'),
      exportPlan: () => this.post('exportPlan'),
    });
    this.table = new LayerTable({
      select: (name) => this.select(name),
      pin: (name, rank) => this.pin(name, rank),
      unpin: (name) => this.pin(name, undefined),
      sort: (key) => this.sortBy(key),
    });
    this.filter.value = this.state.filter;
    this.filter.addEventListener('input', () => {
      this.state.filter = this.filter.value;
      this.arrange();
      this.host.setState(this.state);
    });
    root.append(this.header.element, this.budget.element, this.report.element, this.charts,
      h('section', { 'aria-label': 'Layers' }, h('div', { class: 'table-tools' }, h('h2', {}, 'Layers'), this.filter), this.table.element));
    this.render();
  }

  receive(message: HostToPanel): void {
    switch (message.type) {
      case 'analysis': this.load(message.uri, message.analysis, message.engine); break;
      case 'status': this.status = { ...this.status, ...message.status }; this.header.show(this.analysis, this.status); break;
      case 'error': this.header.showError(message.message); break;
      case 'select': this.select(message.layer); break;
      case 'report': this.showReport(message.report); break;
      case 'evaluation': this.showEvaluation(message.output, message.evaluation); break;
    }
  }

  private load(uri: string, analysis: Analysis, engine: string | undefined): void {
    const names = new Set(analysis.layers.map((l) => l.name));
    // Choices made for another model mean nothing here; for the same model keep those that still apply.
    const sameModel = uri === this.state.uri;
    const pins = sameModel
      ? Object.fromEntries(Object.entries(this.state.pins).filter(([n]) => names.has(n))) : {};
    const selected = this.state.selected !== undefined && names.has(this.state.selected)
      ? this.state.selected : largestLayer(analysis)?.name;
    // The precision follows the model unless the user chose one for it.
    this.state = { ...this.state, uri, pins, selected, dtype: sameModel ? this.state.dtype : undefined };
    this.analysis = analysis;
    this.layerChartsKey = undefined;
    this.status = { ...this.status, engine: engine ?? this.status.engine, progress: undefined, label: undefined };
    this.header.showError(undefined);
    if (!sameModel) { this.measured = []; this.evaluated = []; this.report.clear(); }
    this.table.setLayers(analysis.layers);
    this.replan(true);
  }

  /** Shows a compression's measurements, and its truncation error as a point beside the predicted curve. */
  private showReport(report: CompressReport): void {
    this.report.show(report);
    const layers = this.analysis?.layers.length ?? 0;
    // The proxy error's definition (totals.ts): RMS over all layers, the dense ones at 0.
    const squared = report.layers.reduce((s, l) => s + l.relativeError ** 2, 0);
    if (layers > 0 && report.originalParams > 0) {
      this.measured.push({ keep: report.compressedParams / report.originalParams, proxyError: Math.sqrt(squared / layers) });
    }
    this.render();
  }

  /** Shows what evaluating a compression's output measured, and puts it on the measured chart. */
  private showEvaluation(output: string, evaluation: PanelEvaluation): void {
    this.report.showEvaluation(output, evaluation);
    const point = evaluation.state === 'done' ? fidelityPoint(evaluation.report) : undefined;
    if (point) {
      this.evaluated.push(point);
      this.render();
    }
  }

  /** The precision the totals are priced at: the user's choice, else the nearest to the model's own. */
  private dtype(): StorageDType {
    return this.state.dtype ?? storedDtype(this.analysis && largestLayer(this.analysis));
  }

  private select(name: string): void {
    this.state.selected = name;
    this.render();
    this.table.reveal(name);
    this.host.setState(this.state);
  }

  private change(patch: Partial<PanelViewState>): void {
    this.state = { ...this.state, ...patch };
    this.replan(false);
  }

  private pin(name: string, rank: number | undefined): void {
    const layer = this.analysis?.layers.find((l) => l.name === name);
    if (!layer) return;
    const pins = { ...this.state.pins };
    if (rank === undefined) delete pins[name];
    else pins[name] = normaliseRank(layer, rank);
    this.state = { ...this.state, pins, selected: name };
    this.replan(true);
  }

  private sortBy(key: SortKey): void {
    const { sort } = this.state;
    this.state.sort = { key, descending: sort.key === key ? !sort.descending : false };
    this.arrange();
    this.host.setState(this.state);
  }

  /**
   * Recomputes the plan. The tradeoff curve depends only on the pins, so it is redone only
   * when they change, in the background: it takes dozens of allocations.
   */
  private replan(pinsChanged: boolean): void {
    const a = this.analysis;
    if (a) {
      const ranks = chooseRanks(a, this.state);
      this.outcomes = a.layers.map((l, i) => layerOutcome(l, ranks[i]));
      this.totals = totals(a, this.outcomes);
      if (pinsChanged) this.recomputeCurve(a);
      this.table.update(this.outcomes, this.state.pins);
      if (pinsChanged || LayerTable.planSorted(this.state.sort.key)) this.arrange();
    }
    this.render();
    this.host.setState(this.state);
  }

  private recomputeCurve(a: Analysis): void {
    this.curveJob?.cancel();
    this.curveJob = runInSlices(tradeoffCurve(a, this.state.pins), (curve) => {
      this.curve = curve;
      this.render();
    });
  }

  private arrange(): void {
    if (this.analysis) this.table.arrange(this.outcomes, this.state.sort, this.state.filter);
  }

  private render(): void {
    const a = this.analysis;
    this.header.show(a, this.status);
    const { goal } = this.state;
    this.budget.show(goal, goal === 'ratio' ? this.state.keep : this.state.energy, this.dtype(), this.state.dtype === undefined, this.state.method ?? 'svd', a?.capabilities, this.totals, a?.totalParams ?? 0);
    this.table.select(this.state.selected);
    if (!a || !this.totals) return;
    const index = a.layers.findIndex((l) => l.name === this.state.selected);
    const current = { keep: this.totals.params / a.totalParams, proxyError: this.totals.proxyError };
    const model = [figure('Whole model — parameters kept vs proxy error', tradeoffChart(this.curve, current, this.measured)),
      ...(this.evaluated.length === 0 ? [] : [this.fidelityFigure()])];
    // A budget move rarely changes the selected layer's rank: its two charts stay as drawn.
    const layerKey = index < 0 ? '' : `${a.layers[index].name}:${this.outcomes[index].rank}`;
    const layerCharts = index < 0 ? 0 : 2;
    if (layerKey === this.layerChartsKey && this.charts.childElementCount > layerCharts) {
      while (this.charts.childElementCount > layerCharts) this.charts.lastElementChild!.remove();
      this.charts.append(...model);
      return;
    }
    this.layerChartsKey = layerKey;
    this.charts.replaceChildren(
      ...(index < 0 ? [] : [
        figure(`Singular values — ${a.layers[index].name}`, spectrumChart(a.layers[index], this.outcomes[index])),
        figure(`Cumulative energy — ${a.layers[index].name}`, energyChart(a.layers[index], this.outcomes[index])),
      ]),
      ...model,
    );
  }

  /** Redrawn only when an evaluation arrives or the model changes (a new `evaluated` list). */
  private fidelityFigure(): HTMLElement {
    const f = this.fidelity;
    if (f?.points === this.evaluated && f.count === this.evaluated.length) return f.figure;
    this.fidelity = {
      points: this.evaluated, count: this.evaluated.length,
      figure: figure('Whole model — parameters kept vs measured fidelity', fidelityChart(this.evaluated)),
    };
    return this.fidelity.figure;
  }

  private post(type: 'compress' | 'exportPlan'): void {
    if (!this.analysis) return;
    const plan = this.plan(this.analysis);
    const keep = this.totals ? this.totals.params / this.analysis.totalParams : 1;
    this.host.postMessage(type === 'compress' ? { type, plan, method: this.state.method ?? 'svd', keep } : { type, plan });
  }

  /**
   * Every factorisable layer's rank (`--ranks` refuses layers that cannot be factorised) and
   * the precision the user chose, if any: the one shown before a choice only approximates the
   * model's (bf16 shows as f16), and without one the CLI keeps each tensor's own.
   */
  private plan(a: Analysis): PlanFile {
    const layers = Object.fromEntries(a.layers.flatMap((l, i) => (l.factorisable ? [[l.name, this.outcomes[i].rank]] : [])));
    return this.state.dtype ? { layers, dtype: this.state.dtype } : { layers };
  }
}

function figure(caption: string, chart: SVGElement): HTMLElement {
  return h('figure', {}, h('figcaption', {}, caption), chart);
}

function largestLayer(a: Analysis): Analysis['layers'][number] | undefined {
  return a.layers.reduce<Analysis['layers'][number] | undefined>((best, l) => (!best || l.params > best.params ? l : best), undefined);
}
