// The last compression's measured result beside what the panel predicted for it.
import type { CompressReport } from '../../core/compress/report.js';
import { h } from '../dom.js';
import { formatBytes, formatCount, formatPercent } from '../format.js';

export class ReportView {
  readonly element = h('section', { class: 'report', 'aria-label': 'Last compression', 'aria-live': 'polite', hidden: true });

  show(report: CompressReport): void {
    const name = report.output.split(/[\\/]/).pop() ?? report.output;
    const off = report.predictedBytes > 0 ? report.compressedBytes / report.predictedBytes - 1 : 0;
    const fact = (label: string, value: string, key: string) => h('div', {}, h('dt', {}, label), h('dd', { 'data-report': key }, value));
    this.element.replaceChildren(
      h('h2', {}, `Compressed: ${name}`),
      h('dl', {},
        fact('Parameters', `${formatCount(report.compressedParams)} of ${formatCount(report.originalParams)}`, 'params'),
        fact('On disk', `${formatBytes(report.compressedBytes)} (predicted ${formatBytes(report.predictedBytes)}, ${off >= 0 ? '+' : ''}${formatPercent(off)})`, 'bytes'),
        fact('Was', formatBytes(report.originalBytes), 'original'),
        fact('Engine', report.engine, 'engine')),
    );
    this.element.hidden = false;
  }
}
