import type { CompressReport } from '../../core/compress/report.js';
import type { Fidelity } from '../../core/compress/fidelity.js';
import { ENGINE_CHOICES } from '../../core/engines/select.js';
import { ALLOCATIONS, METHODS, STORAGE_DTYPES } from '../../shared/jobProtocol.js';
import { parseArgs } from '../args.js';
import { formatBytes, formatCount } from '../../core/text/numbers.js';
import { runCompressRequest, runJob } from '../job.js';
import { requestFromFlags } from '../jobRequest.js';
import { progressLines } from '../progressLines.js';
import { isJob, reportTemporariesToSupervisor } from '../supervise.js';
import type { Command } from './command.js';

const USAGE = `reducible compress <model> (--ratio R | --energy E | --ranks plan.json) [--dtype ${STORAGE_DTYPES.join('|')}] [--method ${METHODS.join('|')}] [--allocation ${ALLOCATIONS.join('|')}] [--calibration x.npy|x.npz[:key]] [--finetune STEPS] [--torch-model file.py:factory] [--engine ${ENGINE_CHOICES.join('|')}] [--python PATH] [-o out] [--force] [--allow-deep-cuts] [--json]
  reducible compress --job -|job.json   (the same options as one JSON request; JSON-line events on stdout: shared/jobProtocol.ts)`;

export function formatReport(r: CompressReport): string {
  const pct = (a: number, b: number): string => `${((1 - a / b) * 100).toFixed(1)} %`;
  return [
    `wrote ${r.output}`,
    `params: ${formatCount(r.originalParams)} → ${formatCount(r.compressedParams)} (−${pct(r.compressedParams, r.originalParams)})`,
    `bytes on disk: ${formatBytes(r.originalBytes)} → ${formatBytes(r.compressedBytes)} (−${pct(r.compressedBytes, r.originalBytes)}; predicted ${formatBytes(r.predictedBytes)})`,
    `layers factorised: ${r.layers.map((l) => `${l.name}@${l.rank}`).join(', ') || 'none'}`,
    ...relayoutLines(r),
    ...heldOutLines(r),
  ].join('\n');
}

/** What the choices judged on held-out calibration inputs found: whitened or plain factors, fine-tuning before and after. */
function heldOutLines(r: CompressReport): string[] {
  const fid = (f: Fidelity): string => `${(f.top1Agreement * 100).toFixed(1)} % top-1 agreement, output error ${f.relativeOutputError.toFixed(3)}`;
  const lines: string[] = [];
  const c = r.methodChoice;
  if (c) lines.push(`kept ${c.kept === 'svd' ? 'plain SVD' : 'whitened SVD'} factors on ${c.whitened.samples} held-out inputs (whitened: ${fid(c.whitened)}; plain: ${fid(c.svd)})`);
  const f = r.finetune;
  if (f) {
    const outcome = f.discarded ? `no better than the start (${fid(f.discarded)}): trained weights discarded` : fid(f.after);
    lines.push(`fine-tuning${f.trainedIn ? ` in ${f.trainedIn}` : ''}, ${f.steps} steps at temperature ${f.temperature}, on ${f.before.samples} held-out inputs: ${fid(f.before)} → ${outcome}`);
    if (f.notInPyTorch) lines.push(`trained in TF.js, not PyTorch: ${f.notInPyTorch}`);
    if (f.frozen) lines.push(`not trained (no gradient for them on this backend): ${f.frozen.join(', ')}`);
  }
  return lines;
}

/** Where the re-layout beats plain SVD at the same stored parameters, and where not. */
function relayoutLines(r: CompressReport): string[] {
  const laid = r.layers.filter((l) => l.layout);
  if (!laid.length) return [];
  const verdict = (l: (typeof laid)[number]): string => `${l.name} ${l.relativeError.toFixed(4)} vs ${l.layout!.plainRelativeError.toFixed(4)}`;
  const wins = laid.filter((l) => l.relativeError < l.layout!.plainRelativeError);
  return [
    `re-layout beats plain SVD at equal parameters (relative error, re-layout vs plain): ${wins.map(verdict).join(', ') || 'nowhere'}`,
    ...(wins.length < laid.length ? [`plain SVD does better: ${laid.filter((l) => !wins.includes(l)).map(verdict).join(', ')}`] : []),
  ];
}

export const compress: Command = {
  usage: USAGE,
  async run(argv) {
    reportTemporariesToSupervisor();
    if (isJob(argv)) return runJob(argv);
    const { flags, positional } = parseArgs(argv, {
      ratio: 'string', energy: 'string', ranks: 'string', dtype: 'string', method: 'string', engine: 'string',
      out: 'string', force: 'boolean', json: 'boolean', python: 'string', calibration: 'string', finetune: 'string', allocation: 'string',
      'torch-model': 'string', 'allow-deep-cuts': 'boolean',
    }, { o: 'out' });
    const request = await requestFromFlags(flags, positional);
    // The progress lines `--json` has always written (JSON, on stderr); `--job` writes JobEvents instead.
    const lines = flags.json ? undefined : progressLines();
    const report = await runCompressRequest(request, {
      ranksFile: flags.ranks as string | undefined,
      progress: lines ?? { report: (f, label) => process.stderr.write(`${JSON.stringify({ progress: f, label })}\n`) },
    }).finally(() => lines?.end());
    process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
    return 0;
  },
};
