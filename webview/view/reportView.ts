// The compressions made from the panel: the last one's measured result beside what was
// predicted for it. Exact numbers ride along in data-value for tools and tests.
import type { CompressReport } from '../../core/compress/report.js';
import { h, type Attrs } from '../dom.js';
import { formatBytes, formatCount, formatPercent } from '../format.js';

export class ReportView {
  readonly element = h('section', { class: 'report', 'aria-label': 'Last compression', 'aria-live': 'polite', hidden: true });

  show(report: CompressReport): void {
    const name = report.output.split(/[\\/]/).pop() ?? report.output;
    const off = report.predictedBytes > 0 ? report.compressedBytes / report.predictedBytes - 1 : 0;
    const fact = (label: string, text: string, attrs: Attrs) => h('div', {}, h('dt', {}, label), h('dd', attrs, text));
    this.element.replaceChildren(
      h('h2', {}, `Compressed: ${name}`),
      h('dl', {},
        fact('Parameters', `${formatCount(report.compressedParams)} of ${formatCount(report.originalParams)}`,
          { 'data-report': 'params', 'data-value': report.compressedParams }),
        fact('On disk', `${formatBytes(report.compressedBytes)} (predicted ${formatBytes(report.predictedBytes)}, ${off >= 0 ? '+' : ''}${formatPercent(off)})`,
          { 'data-report': 'bytes', 'data-value': report.compressedBytes, 'data-predicted': report.predictedBytes }),
        fact('Was', formatBytes(report.originalBytes), { 'data-report': 'original', 'data-value': report.originalBytes }),
        fact('Engine', report.engine, { 'data-report': 'engine' })),
    );
    this.element.hidden = false;
  }

  /** Another model's compressions say nothing about this one. */
  clear(): void {
    this.element.replaceChildren();
    this.element.hidden = true;
  }
}
