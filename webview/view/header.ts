// The header: which model, how big, which engine, and how far its analysis has come.
import type { Analysis } from '../../core/analysis.js';
import type { PanelStatus } from '../../shared/panelProtocol.js';
import { h } from '../dom.js';
import { formatBytes, formatPercent } from '../../core/text/numbers.js';
import { formatInteger } from '../format.js';

export class Header {
  readonly element: HTMLElement;
  private readonly title = h('h1');
  private readonly facts = h('dl', { class: 'facts' });
  private readonly progress = h('vscode-progress-bar', { 'aria-label': 'Analysis progress' });
  private readonly progressText = h('span', { class: 'hint', role: 'status' });
  private readonly error = h('p', { class: 'error', role: 'alert', hidden: true });

  constructor() {
    this.element = h('header', {}, this.title, this.facts,
      h('div', { class: 'progress' }, this.progress, this.progressText), this.error);
    this.title.textContent = 'Reducible';
  }

  show(analysis: Analysis | undefined, status: PanelStatus): void {
    if (analysis) {
      this.title.textContent = analysis.path.split(/[\\/]/).pop() || analysis.path;
      this.title.title = analysis.path;
      const fact = (label: string, value: string, key: string) =>
        h('div', {}, h('dt', {}, label), h('dd', { 'data-fact': key }, value));
      this.facts.replaceChildren(
        fact('Format', analysis.format, 'format'),
        fact('File size', formatBytes(analysis.fileBytes), 'size'),
        fact('Parameters', formatInteger(analysis.totalParams) + (analysis.sharedParams ? ` (${formatInteger(analysis.sharedParams)} repeated, kept once)` : ''), 'params'),
        fact('Layers', String(analysis.layers.length), 'layers'),
        fact('Engine', status.engine ?? '—', 'engine'),
      );
    }
    const running = status.progress !== undefined;
    this.progress.hidden = !running;
    if (running) this.progress.value = status.progress! * 100;
    this.progressText.textContent = running
      ? `Analysing… ${formatPercent(status.progress!, 0)}${status.label ? ` (${status.label})` : ''}`
      : analysis ? 'Analysis complete' : 'Waiting for the analysis…';
  }

  showError(message: string | undefined): void {
    this.error.hidden = message === undefined;
    this.error.textContent = message ?? '';
  }
}
