import { evaluate, type EvalReport } from '../../core/eval/evaluate.js';
import { InputError } from '../../core/types.js';
import { parseArgs } from '../args.js';
import { formatBytes, formatCount, formatPercent } from '../../core/text/numbers.js';
import { table } from '../../core/text/table.js';
import type { Command } from './command.js';

const USAGE = 'reducible evaluate <original> <compressed> [--inputs x.npy|x.npz[:key] [--labels y.npy|y.npz[:key]]] [--torch-model file.py:factory] [--python PATH] [--json]';

export function formatEval(r: EvalReport): string {
  const pct = (v?: number): string => (v === undefined ? '–' : formatPercent(v, 2));
  const lm = r.original.perplexity !== undefined;
  const row = (name: string, s: EvalReport['original']): string[] => [name, formatCount(s.params), formatBytes(s.bytes), pct(s.accuracy), ...(lm ? [s.perplexity!.toFixed(3)] : [])];
  const rows = [['', 'params', 'bytes on disk', 'accuracy', ...(lm ? ['perplexity'] : [])], row('original', r.original), row('compressed', r.compressed)];
  const lines = [table(rows)];
  if (r.top1Agreement !== undefined) lines.push(`top-1 agreement ${pct(r.top1Agreement)}, relative output error ${r.relativeOutputError!.toExponential(3)} on ${r.samples} ${r.inputsFrom} samples`);
  if (lm) lines.push(`perplexity ×${(r.compressed.perplexity! / r.original.perplexity!).toFixed(3)} of the original's`);
  if (r.original.accuracy !== undefined) lines.push(`accuracy drop: ${((r.original.accuracy - r.compressed.accuracy!) * 100).toFixed(2)} points`);
  for (const l of r.layers ?? []) lines.push(`${l.name}: relative weight error ${l.relativeError.toExponential(3)}`);
  return lines.join('\n');
}

export const evaluateCommand: Command = {
  usage: USAGE,
  async run(argv) {
    const { flags, positional } = parseArgs(argv, { inputs: 'string', labels: 'string', json: 'boolean', 'torch-model': 'string', python: 'string' });
    if (positional.length !== 2) throw new InputError(undefined, `evaluate needs an original and a compressed model`);
    if (flags.labels && !flags.inputs) throw new InputError(undefined, '--labels needs --inputs');
    const text = (name: string): string | undefined => flags[name] as string | undefined;
    const r = await evaluate(positional[0], positional[1], { inputs: text('inputs'), labels: text('labels'), torchModel: text('torch-model'), python: text('python') });
    process.stdout.write(flags.json ? `${JSON.stringify(r)}\n` : `${formatEval(r)}\n`);
    return 0;
  },
};
