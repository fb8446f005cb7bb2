// The global budget: goal choice, one slider with a numeric twin, the totals it implies, the
// factors' precision, and the actions that use the resulting plan.
import type { CompressMethod, PanelViewState, StorageDType } from '../../shared/panelProtocol.js';
import type { Capabilities } from '../../core/types.js';
import { PANEL_METHODS, STORAGE_DTYPES } from '../../shared/jobProtocol.js';
import { h } from '../dom.js';
import { formatBytes, formatPercent } from '../../core/text/numbers.js';
import { formatInteger, formatError } from '../format.js';
import type { Totals } from '../model/totals.js';
import { deepCutCount } from '../../core/ranks/deepCuts.js';
import { radioGroup, type RadioGroup } from './radioGroup.js';

type GoalName = PanelViewState['goal'];

const DTYPES = STORAGE_DTYPES.map((d) => [d, d] as const);
const METHOD_LABELS: Record<CompressMethod, string> = {
  svd: 'SVD', whitened: 'Whitened SVD', 'whitened+finetune': 'Whitened + fine-tuning', relayout: 'Re-layout (experimental)',
};
const METHODS = PANEL_METHODS.map((m) => [m, METHOD_LABELS[m]] as const);

export interface BudgetEvents {
  goal(goal: GoalName): void;
  /** The precision Compress writes the factors in. */
  dtype(dtype: StorageDType): void;
  /** How Compress makes the factors. */
  method(method: CompressMethod): void;
  /** The goal's value as a fraction: parameters kept (ratio) or energy kept (energy). */
  value(fraction: number): void;
  compress(): void;
  exportPlan(): void;
}

/** Slider range and step per goal, in percent. */
const RANGE: Record<GoalName, { min: number; step: number; text: (v: string) => string }> = {
  ratio: { min: 1, step: 0.5, text: (v) => `keep ${v} % of parameters` },
  energy: { min: 50, step: 0.1, text: (v) => `keep ${v} % of each layer's energy` },
};

export class BudgetControls {
  readonly element: HTMLElement;
  private readonly goals: RadioGroup<GoalName>;
  private readonly dtypes: RadioGroup<StorageDType>;
  private readonly methods: RadioGroup<CompressMethod>;
  private readonly slider: HTMLInputElement;
  private readonly field: HTMLElementTagNameMap['vscode-textfield'];
  private readonly hint = h('span', { id: 'budget-hint', class: 'hint' });
  /** Said before Compress, not after: a data-free plan that cuts layers deeply (core/ranks/deepCuts.ts). */
  private readonly deepCuts = h('p', { id: 'deep-cuts', class: 'warning', role: 'status' });
  private readonly totals = new Map<string, HTMLElement>();
  private readonly actions: HTMLElementTagNameMap['vscode-button'][];

  constructor(events: BudgetEvents) {
    this.goals = radioGroup('Goal', 'goal', [['ratio', 'Parameter budget'], ['energy', 'Energy per layer']], events.goal);
    this.dtypes = radioGroup('Precision of the factors', 'dtype', DTYPES, events.dtype);
    this.methods = radioGroup('How the factors are made', 'method', METHODS, events.method);
    this.slider = h('input', { type: 'range', id: 'budget', max: 100, 'aria-describedby': 'budget-hint' });
    this.slider.addEventListener('input', () => events.value(Number(this.slider.value) / 100));
    this.field = h('vscode-textfield', { type: 'number', id: 'budget-value', max: 100, 'aria-label': 'Budget in percent' });
    this.field.addEventListener('change', () => {
      const v = Number(this.field.value);
      if (Number.isFinite(v) && v > 0 && v <= 100) events.value(v / 100);
    });
    const compress = h('vscode-button', { id: 'compress' }, 'Compress');
    compress.addEventListener('click', () => events.compress());
    const exportPlan = h('vscode-button', { id: 'export-plan', secondary: true }, 'Export plan');
    exportPlan.addEventListener('click', () => events.exportPlan());
    this.actions = [compress, exportPlan];

    const total = (key: string, label: string) => {
      const dd = h('dd', { 'data-total': key });
      this.totals.set(key, dd);
      return h('div', {}, h('dt', {}, label), dd);
    };
    this.element = h('section', { class: 'budget', 'aria-label': 'Budget' },
      this.goals.element,
      h('div', { class: 'budget-row' },
        h('label', { for: 'budget' }, 'Keep'), this.slider, this.field, h('span', {}, '%'),
        this.hint),
      h('dl', { class: 'totals' },
        total('params', 'Parameters after'), total('keep', 'Kept'), total('f32', 'f32 on disk'),
        total('f16', 'f16 on disk'), total('int8', 'int8 on disk'), total('error', 'Proxy error')),
      h('div', { class: 'budget-row' }, h('span', {}, 'Factors in'), this.dtypes.element),
      h('div', { class: 'budget-row' }, h('span', {}, 'Method'), this.methods.element,
        h('span', { class: 'hint' }, 'whitened and fine-tuned factors learn from reducible.calibration.inputs; re-layout (ONNX) spends the same parameter budget on ranks of its own')),
      this.deepCuts,
      h('div', { class: 'actions' }, compress, exportPlan),
    );
  }

  /** `dtype` is the chosen precision, or the stored one (`dtypeImplied`) until the user chooses. */
  show(goal: GoalName, fraction: number, dtype: StorageDType, dtypeImplied: boolean, method: CompressMethod, capabilities: Capabilities | undefined, totals: Totals | undefined, totalParams: number): void {
    const range = RANGE[goal];
    this.goals.set(goal);
    this.dtypes.set(dtype, dtypeImplied);
    this.methods.set(method);
    // Only the methods the model's format supports are offered (its capabilities, from the analysis).
    const offered: Record<CompressMethod, boolean> = {
      svd: true, whitened: capabilities?.whiten === true, 'whitened+finetune': capabilities?.whiten === true && capabilities.finetune, relayout: capabilities?.relayout === true,
    };
    for (const [m] of METHODS) this.methods.element.querySelector<HTMLElement>(`vscode-radio[value="${m}"]`)!.hidden = !offered[m];
    // The prediction for the chosen precision is the one Compress will be measured against.
    for (const [d] of DTYPES) this.totals.get(d)!.parentElement!.classList.toggle('chosen', d === dtype);
    const percent = (fraction * 100).toFixed(goal === 'ratio' ? 1 : 2);
    this.slider.min = String(range.min);
    this.slider.step = String(range.step);
    this.slider.value = percent;
    this.slider.setAttribute('aria-valuetext', range.text(percent));
    this.slider.setAttribute('aria-label', goal === 'ratio' ? 'Parameters to keep' : 'Energy to keep per layer');
    if (this.field !== document.activeElement) this.field.value = percent;
    this.field.setAttribute('min', String(range.min));
    this.hint.textContent = range.text(percent);
    for (const b of this.actions) b.disabled = !totals;
    this.deepCuts.hidden = true;
    if (!totals) return;
    const kept = totals.params / totalParams;
    // Every layer at rank 1 is as small as factorisation gets; say so rather than miss the budget silently.
    if (goal === 'ratio' && kept > fraction + 1e-9) this.hint.textContent += ` — the smallest reachable is ${formatPercent(kept)}`;
    this.set('params', totals.params, formatInteger(totals.params));
    this.set('keep', kept, formatPercent(kept));
    this.set('f32', totals.bytes.f32, formatBytes(totals.bytes.f32));
    this.set('f16', totals.bytes.f16, formatBytes(totals.bytes.f16));
    this.set('int8', totals.bytes.int8, formatBytes(totals.bytes.int8));
    this.set('error', totals.proxyError, formatError(totals.proxyError));
    const cuts = method === 'svd' ? totals.deepCuts : [];
    this.deepCuts.hidden = cuts.length === 0;
    this.deepCuts.textContent = cuts.length === 0 ? '' : `Plain SVD cuts ${deepCutCount(cuts.length)} `
      + `(${cuts.slice(0, 3).join(', ')}${cuts.length > 3 ? ', …' : ''}): likely to break the model. `
      + (offered.whitened ? 'Whitened SVD measures what the layers can bear on calibration inputs; or keep more.' : 'Keep more parameters.');
  }

  /** Shows a total; the exact number rides along in data-value for tools and tests. */
  private set(key: string, value: number, text: string): void {
    const dd = this.totals.get(key)!;
    dd.textContent = text;
    dd.dataset.value = String(value);
  }
}
