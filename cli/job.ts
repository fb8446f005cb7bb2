// Runs one CompressRequest (cli/jobRequest.ts). The flags of `reducible compress` and
// `reducible compress --job` both come here, so one request writes the same bytes either way.
// `--job -|file.json` speaks the IDE's contract (shared/jobProtocol.ts): the request is JSON,
// and stdout carries JobEvents, one per line — progress, then one `done` or `error`; the
// error's line also goes to stderr as every other failure's does.
import { compressFile } from '../core/compress/job.js';
import type { Goal } from '../core/compress/plan.js';
import type { CompressReport } from '../core/compress/report.js';
import { createEngine, type EngineChoice } from '../core/engines/select.js';
import { inputsFromFile } from '../core/eval/evaluate.js';
import { readRegularFile } from '../core/io/byteSource.js';
import { CancelledError, InputError, type Progress } from '../core/types.js';
import { EXIT_CODES, type CompressRequest, type JobEvent } from '../shared/jobProtocol.js';
import { parseArgs } from './args.js';
import { jobError } from './errors.js';
import { parseCompressRequest } from './jobRequest.js';

export interface RunOptions {
  progress?: Progress;
  /** Where a ranks goal came from, named in messages about its layers: the `--ranks` file (default 'goal.ranks'). */
  ranksFile?: string;
}

/** A compress request is a few lines of JSON (a ranks plan names each layer once). */
const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

/** Runs the job; SIGINT or SIGTERM cancels it (CancelledError, whatever failed first), leaving no output. */
export async function runCompressRequest(request: CompressRequest, o: RunOptions = {}): Promise<CompressReport> {
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const g = request.goal;
    const goal: Goal = 'ratio' in g ? { kind: 'ratio', ratio: g.ratio } : 'energy' in g ? { kind: 'energy', energy: g.energy }
      : { kind: 'ranks', file: o.ranksFile ?? 'goal.ranks', plan: { layers: g.ranks } };
    const calibration = request.calibration ? await inputsFromFile(request.calibration) : undefined;
    // checkCompressRequest took the engine from ENGINE_CHOICES.
    const engine = await createEngine((request.engine ?? 'auto') as EngineChoice, { python: request.python });
    try {
      return await compressFile(request.model, {
        goal, dtype: request.dtype, method: request.method ?? 'svd', allocation: request.allocation, calibration,
        finetune: request.finetune, out: request.out, force: request.force === true, analysis: request.analysis,
        engine, signal: abort.signal, progress: o.progress,
      });
    } finally {
      await engine.close();
    }
  } catch (e) {
    throw abort.signal.aborted && !(e instanceof CancelledError) ? new CancelledError() : e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** True when `reducible compress` is asked for `--job`: then every failure is a JobEvent too. */
export const isJob = (argv: string[]): boolean => argv.some((a) => a === '--job' || a.startsWith('--job='));

/** `reducible compress --job -|file.json`: the exit code, every outcome written as JobEvents. */
export async function runJob(argv: string[]): Promise<number> {
  const emit = (e: JobEvent): void => { process.stdout.write(`${JSON.stringify(e)}\n`); };
  try {
    const { flags, positional } = parseArgs(argv, { job: 'string' });
    if (positional.length) throw new InputError(undefined, `with --job the request names the model: give no model path (got ${positional.join(' ')})`);
    const source = String(flags.job);
    const file = source === '-' ? undefined : source;
    const text = file ? new TextDecoder().decode(await readRegularFile(file, MAX_REQUEST_BYTES).catch((e: Error) => {
      throw new InputError(file, `cannot read the compress request (${e.message.replace(`${file}: `, '')})`);
    })) : await readStdin();
    const request = parseCompressRequest(text, file);
    let done = 0;
    const report = await runCompressRequest(request, {
      progress: { report: (fraction, label) => { done = Math.min(1, Math.max(done, fraction)); emit({ type: 'progress', fraction: done, label }); } },
    });
    emit({ type: 'done', report });
    return 0;
  } catch (err) {
    const event = jobError(err);
    emit(event);
    console.error(`reducible: ${event.message}`);
    if (event.code === 'runtime' && process.env.REDUCIBLE_DEBUG) console.error(err);
    return EXIT_CODES[event.code];
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
