// The compressions made from the panel: the last one's measured result beside what was
// predicted for it, then how its output compares with the original on data. Exact numbers
// ride along in data-value for tools and tests.
import type { CompressReport } from '../../core/compress/report.js';
import type { PanelEvaluation } from '../../shared/panelProtocol.js';
import { h, type Attrs } from '../dom.js';
import { formatBytes, formatPercent } from '../../core/text/numbers.js';
import { formatInteger } from '../format.js';

const fact = (label: string, text: string, attrs: Attrs) => h('div', {}, h('dt', {}, label), h('dd', attrs, text));

export class ReportView {
  readonly element = h('section', { class: 'report', 'aria-label': 'Last compression', 'aria-live': 'polite', hidden: true });
  private readonly measured = h('dl', { class: 'evaluation' });
  /** The output of the report shown; evaluations of other outputs are not for it. */
  private output?: string;

  show(report: CompressReport): void {
    const name = report.output.split(/[\\/]/).pop() ?? report.output;
    const off = report.predictedBytes > 0 ? report.compressedBytes / report.predictedBytes - 1 : 0;
    this.output = report.output;
    this.measured.replaceChildren();
    this.element.replaceChildren(
      h('h2', {}, `Compressed: ${name}`),
      h('dl', {},
        fact('Parameters', `${formatInteger(report.compressedParams)} of ${formatInteger(report.originalParams)}`,
          { 'data-report': 'params', 'data-value': report.compressedParams }),
        fact('On disk', `${formatBytes(report.compressedBytes)} (predicted ${formatBytes(report.predictedBytes)}, ${off >= 0 ? '+' : ''}${formatPercent(off)})`,
          { 'data-report': 'bytes', 'data-value': report.compressedBytes, 'data-predicted': report.predictedBytes }),
        fact('Was', formatBytes(report.originalBytes), { 'data-report': 'original', 'data-value': report.originalBytes }),
        fact('Engine', report.engine, { 'data-report': 'engine' })),
      this.measured,
    );
    this.element.hidden = false;
  }

  /** What `reducible evaluate` measured for the output shown (or that it is still running, or failed). */
  showEvaluation(output: string, evaluation: PanelEvaluation): void {
    if (output !== this.output) return;
    if (evaluation.state === 'running') {
      this.measured.replaceChildren(fact('Fidelity', 'evaluating…', { 'data-report': 'evaluating' }));
      return;
    }
    if (evaluation.state === 'failed') {
      this.measured.replaceChildren(fact('Evaluation failed', evaluation.message, { 'data-report': 'evaluation-error', class: 'error' }));
      return;
    }
    const r = evaluation.report;
    const facts: HTMLElement[] = [];
    const { accuracy } = r.compressed, before = r.original.accuracy;
    if (accuracy !== undefined && before !== undefined) {
      const points = (accuracy - before) * 100;
      facts.push(fact('Accuracy', `${formatPercent(accuracy, 2)} (was ${formatPercent(before, 2)}, ${points >= 0 ? '+' : ''}${points.toFixed(2)} points)`,
        { 'data-report': 'accuracy', 'data-value': accuracy, 'data-original': before }));
    }
    if (r.top1Agreement !== undefined) {
      const inputs = r.inputsFrom === 'file' ? 'inputs from the settings' : 'inputs drawn from the signature';
      facts.push(
        fact('Top-1 agreement', `${formatPercent(r.top1Agreement, 2)} on ${formatInteger(r.samples)} ${inputs}`,
          { 'data-report': 'agreement', 'data-value': r.top1Agreement }),
        fact('Output error', (r.relativeOutputError ?? 0).toExponential(3), { 'data-report': 'output-error', 'data-value': r.relativeOutputError }));
    }
    const ppl = r.compressed.perplexity, basePpl = r.original.perplexity;
    if (ppl !== undefined && basePpl !== undefined) {
      // A language model run by its PyTorch module: perplexity on the evaluation token ids.
      facts.push(fact('Perplexity', `${ppl.toFixed(3)} (was ${basePpl.toFixed(3)}, ×${(ppl / basePpl).toFixed(3)})`,
        { 'data-report': 'perplexity', 'data-value': ppl, 'data-original': basePpl }));
    }
    if (r.layers && r.layers.length > 0) {
      // Formats without a runtime are compared weight by weight.
      const worst = Math.max(...r.layers.map((l) => l.relativeError));
      facts.push(fact('Largest weight error', worst.toExponential(3), { 'data-report': 'weight-error', 'data-value': worst }));
    }
    this.measured.replaceChildren(...facts);
  }

  /** Another model's compressions say nothing about this one. */
  clear(): void {
    this.output = undefined;
    this.element.replaceChildren();
    this.element.hidden = true;
  }
}
