// Runs one CompressRequest (cli/jobRequest.ts). The flags of `reducible compress` and
// `reducible compress --job` both come here, so one request writes the same bytes either way.
// `--job -|file.json` speaks the IDE's contract (shared/jobProtocol.ts): the request is JSON,
// and stdout carries JobEvents, one per line — progress, then one `done` or `error`; the
// error's line also goes to stderr as every other failure's does.
import type { FinetuneRuntime } from '../core/runners/runner.js';
import { readFile } from 'node:fs/promises';
import { compressFile } from '../core/compress/job.js';
import type { Goal } from '../core/compress/plan.js';
import type { CompressReport } from '../core/compress/report.js';
import { createEngine, type EngineChoice } from '../core/engines/select.js';
import { inputsFromFile } from '../core/eval/evaluate.js';
import { removeTemporariesSync } from '../core/io/temporaries.js';
import { CancelledError, InputError, type Progress } from '../core/types.js';
import { EXIT_CODES, type CompressRequest, type JobEvent } from '../shared/jobProtocol.js';
import { parseArgs } from './args.js';
import { jobError } from './errors.js';
import { parseCompressRequest } from './jobRequest.js';

export interface RunOptions {
  progress?: Progress;
  /** Where a ranks goal came from, named in messages about its layers: the `--ranks` file (default 'goal.ranks'). */
  ranksFile?: string;
  /** Prints the outcome of a cancelled job when the process has to end before the job does (default: the cancelled line on stderr). */
  reportCancelled?: () => void;
}

/** After a cancellation the job has this long to end on its own (and remove its output); then the process ends anyway. */
const CANCEL_GRACE_MS = 1000;

/**
 * Runs the job; SIGINT or SIGTERM cancels it (the supervisor's going does too: cli/supervise.ts)
 * (CancelledError, whatever failed first), leaving no output. Cancellation always ends the
 * process: where the job has not ended within CANCEL_GRACE_MS (a step that never returns),
 * its temporaries are removed, the cancelled line is printed and the process exits with 1;
 * a second signal does that at once.
 */
export async function runCompressRequest(request: CompressRequest, o: RunOptions = {}): Promise<CompressReport> {
  const abort = new AbortController();
  let deadline: NodeJS.Timeout | undefined;
  const forceExit = (): never => {
    removeTemporariesSync();
    (o.reportCancelled ?? (() => console.error('reducible: cancelled')))();
    process.exit(EXIT_CODES.cancelled);
  };
  const onSignal = (): void => {
    if (abort.signal.aborted) forceExit();
    abort.abort();
    // Unreferenced: where nothing else keeps the process alive it ends by itself, as it should.
    deadline = setTimeout(forceExit, CANCEL_GRACE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const g = request.goal;
    const goal: Goal = 'ratio' in g ? { kind: 'ratio', ratio: g.ratio } : 'energy' in g ? { kind: 'energy', energy: g.energy }
      : { kind: 'ranks', file: o.ranksFile ?? 'goal.ranks', plan: { layers: g.ranks } };
    const calibration = request.calibration ? await inputsFromFile(request.calibration) : undefined;
    return await compressFile(request.model, {
      goal, dtype: request.dtype, method: request.method ?? 'svd', allocation: request.allocation, calibration,
      finetune: request.finetune, torchModel: request.torchModel, python: request.python, out: request.out, force: request.force === true, allowDeepCuts: request.allowDeepCuts === true, analysis: request.analysis,
      // checkCompressRequest took the engine from ENGINE_CHOICES.
      engine: () => createEngine((request.engine ?? 'auto') as EngineChoice, { python: request.python }), finetuneIn: finetuneRuntime(request.engine),
      signal: abort.signal, progress: o.progress,
    });
  } catch (e) {
    throw abort.signal.aborted && !(e instanceof CancelledError) ? new CancelledError() : e;
  } finally {
    clearTimeout(deadline);
    // The job ended and its caller prints the outcome; the process still ends soon after, whatever is left running.
    if (abort.signal.aborted) setTimeout(() => process.exit(), CANCEL_GRACE_MS).unref();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Where a format that trains either way fine-tunes, by the engine asked for: PyTorch for `torch`, TF.js for the embedded engine. */
function finetuneRuntime(engine: string | undefined): FinetuneRuntime {
  return engine === 'torch' ? 'pytorch' : engine === 'embedded' || engine === 'wasm' ? 'tfjs' : 'auto';
}

/** `reducible compress --job -|file.json`: the exit code, every outcome written as JobEvents. */
export async function runJob(argv: string[]): Promise<number> {
  const emit = (e: JobEvent): void => { process.stdout.write(`${JSON.stringify(e)}\n`); };
  try {
    const { flags, positional } = parseArgs(argv, { job: 'string' });
    if (positional.length) throw new InputError(undefined, `with --job the request names the model: give no model path (got ${positional.join(' ')})`);
    const source = String(flags.job);
    const file = source === '-' ? undefined : source;
    // Read once, so it may come through a pipe (`--job <(…)`), as the request on stdin does.
    const text = file ? await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new InputError(file, `cannot read the compress request (${e.code ?? e.message})`);
    }) : await readStdin();
    const request = parseCompressRequest(text, file);
    let done = 0;
    const report = await runCompressRequest(request, {
      reportCancelled: () => { const event = jobError(new CancelledError()); emit(event); console.error(`reducible: ${event.message}`); },
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
