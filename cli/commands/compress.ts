import { compressFile } from '../../core/compress/job.js';
import { inputsFromFile } from '../../core/eval/evaluate.js';
import { readPlanJson, STORAGE_DTYPES, type Goal } from '../../core/compress/plan.js';
import type { CompressReport } from '../../core/compress/report.js';
import type { Fidelity } from '../../core/compress/fidelity.js';
import type { Allocation, Method, StorageDType } from '../../core/compress/types.js';
import { createEngine, ENGINE_CHOICES, type EngineChoice } from '../../core/engines/select.js';
import { InputError } from '../../core/types.js';
import { numberFlag, parseArgs } from '../args.js';
import { formatBytes, formatCount } from '../format.js';
import type { Command } from './command.js';

const USAGE = 'reducible compress <model> (--ratio R | --energy E | --ranks plan.json) [--dtype f32|f16|int8] [--method svd|whitened|relayout] [--allocation spectrum|sensitivity] [--calibration x.npy|x.npz[:key]] [--finetune STEPS] [--engine auto|wasm|torch|tfjs-node] [-o out] [--force] [--json]';

/** The goal flags; a `--ranks` file is read here, once (it may be a pipe, as `<(…)` gives). */
export async function parseGoal(flags: Record<string, string | boolean>): Promise<Goal> {
  const given = ['ratio', 'energy', 'ranks'].filter((k) => flags[k] !== undefined);
  if (given.length !== 1) throw new InputError(undefined, `give exactly one of --ratio, --energy, --ranks`);
  if (flags.ratio !== undefined) return { kind: 'ratio', ratio: numberFlag(flags, 'ratio', 0, 1, true)! };
  if (flags.energy !== undefined) return { kind: 'energy', energy: numberFlag(flags, 'energy', 0, 1, true)! };
  const file = String(flags.ranks);
  return { kind: 'ranks', file, plan: await readPlanJson(file) };
}

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
    lines.push(`fine-tuning, ${f.steps} steps at temperature ${f.temperature}, on ${f.before.samples} held-out inputs: ${fid(f.before)} → ${outcome}`);
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
    const { flags, positional } = parseArgs(argv, {
      ratio: 'string', energy: 'string', ranks: 'string', dtype: 'string', method: 'string', engine: 'string',
      out: 'string', force: 'boolean', json: 'boolean', python: 'string', calibration: 'string', finetune: 'string', allocation: 'string',
    }, { o: 'out' });
    if (positional.length !== 1) throw new InputError(undefined, `compress needs exactly one model path`);
    const goal = await parseGoal(flags);
    let dtype = flags.dtype as StorageDType | undefined;
    if (dtype !== undefined && !STORAGE_DTYPES.includes(dtype)) throw new InputError(undefined, `--dtype must be f32, f16 or int8, got ${dtype}`);
    // A plan exported by the panel carries the precision chosen there; --dtype still wins.
    if (dtype === undefined && goal.kind === 'ranks') dtype = goal.plan?.dtype;
    const method = (flags.method ?? 'svd') as Method;
    if (!['svd', 'whitened', 'relayout'].includes(method)) throw new InputError(undefined, `--method must be svd, whitened or relayout, got ${method}`);
    const allocation = flags.allocation as Allocation | undefined;
    if (allocation !== undefined && !['spectrum', 'sensitivity'].includes(allocation)) throw new InputError(undefined, `--allocation must be spectrum or sensitivity, got ${allocation}`);
    const finetune = numberFlag(flags, 'finetune', 0, 1e7);
    if (finetune !== undefined && !Number.isInteger(finetune)) throw new InputError(undefined, '--finetune takes a whole number of steps');
    const calibration = flags.calibration ? await inputsFromFile(String(flags.calibration)) : undefined;
    const choice = (flags.engine ?? 'auto') as EngineChoice;
    if (!ENGINE_CHOICES.includes(choice)) throw new InputError(undefined, `--engine must be one of ${ENGINE_CHOICES.join(', ')}`);
    const engine = await createEngine(choice, { python: flags.python as string | undefined });
    const abort = new AbortController();
    const onSignal = (): void => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const report = await compressFile(positional[0], {
        goal, dtype, method, allocation, calibration, finetune, out: flags.out as string | undefined, force: flags.force === true, engine, signal: abort.signal,
        progress: flags.json ? { report: (f, label) => process.stderr.write(`${JSON.stringify({ progress: f, label })}\n`) } : undefined,
      });
      process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await engine.close();
    }
    return 0;
  },
};
