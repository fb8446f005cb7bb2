// Runs `reducible compress --job -` and `reducible evaluate --json` (dist/cli.js) as child
// processes for the extension: the jobs leave the extension host responsive, and killing one
// on cancel leaves no output behind (the CLI writes atomically and aborts on SIGTERM). A
// compression is a typed CompressRequest on the CLI's stdin and typed JobEvents back on its
// stdout (shared/jobProtocol.ts): what failed is read from the event's code, never from text.
// No VS Code imports: tested under plain Node.
import { spawn } from 'node:child_process';
import type { EvalReport } from '../core/eval/evaluate.js';
import type { CompressReport, CompressRequest, ErrorCode, JobEvent } from '../shared/jobProtocol.js';

export interface JobHooks {
  signal?: AbortSignal;
  progress?(fraction: number, label: string): void;
}

/** A job that failed: the CLI's stable `code`, and its one line (naming the file) to show the user. */
export class JobError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly file?: string) {
    super(message);
    this.name = 'JobError';
  }
}

/** `reducible compress --job -`: resolves to the report, or rejects with a JobError. */
export function runCompress(cliPath: string, request: CompressRequest, hooks: JobHooks = {}): Promise<CompressReport> {
  let result: { report: CompressReport } | { error: JobError } | undefined;
  const onLine = (line: string): void => {
    const event = jobEvent(line);
    if (event?.type === 'progress') hooks.progress?.(event.fraction, event.label);
    else if (event?.type === 'done') result = { report: event.report };
    else if (event?.type === 'error') result = { error: new JobError(event.code, event.message, event.file) };
  };
  return spawnCli([cliPath, 'compress', '--job', '-'], `${JSON.stringify(request)}\n`, onLine, hooks).then(({ code, lastError }) => {
    if (result && 'error' in result) throw result.error;
    if (result && code === 0) return result.report;
    throw new JobError('runtime', `compress ended (exit code ${code}) without a result${lastError ? `: ${lastError}` : ''}`);
  });
}

/** Data for `evaluate`: arrays as the CLI takes them (`x.npy`, `x.npz[:key]`), absolute paths; the module that runs a checkpoint, and its interpreter. */
export interface EvalData { inputs?: string; labels?: string; torchModel?: string; python?: string }

/** `reducible evaluate <original> <compressed> --json`: the same numbers the command prints. */
export async function runEvaluate(cliPath: string, original: string, compressed: string, data: EvalData, hooks: JobHooks = {}): Promise<EvalReport> {
  // Labels score the inputs they come with; without inputs the CLI draws them from the signature.
  const flags = [...data.inputs ? ['--inputs', data.inputs, ...(data.labels ? ['--labels', data.labels] : [])] : [], ...data.torchModel ? ['--torch-model', data.torchModel, ...data.python ? ['--python', data.python] : []] : []];
  let stdout = '';
  const { code, lastError } = await spawnCli([cliPath, 'evaluate', original, compressed, ...flags, '--json'], undefined, (line) => { stdout += `${line}\n`; }, hooks);
  // evaluate has no events: its exit code says what kind of failure, its one line what it was.
  if (code !== 0) throw new JobError(code === 2 ? 'bad-input' : 'runtime', lastError ?? `evaluate failed with exit code ${code}`);
  try {
    return JSON.parse(stdout) as EvalReport;
  } catch {
    throw new JobError('runtime', `evaluate printed no report: ${stdout.slice(0, 200)}`);
  }
}

/** One line of `compress --job`'s stdout as an event; anything else is no event. */
function jobEvent(line: string): JobEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const e = JSON.parse(line) as JobEvent;
    return e && ['progress', 'done', 'error'].includes(e.type) ? e : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs the CLI with `input` on its stdin, handing each stdout line to `onLine`; resolves to its
 * exit code and its last stderr line (the CLI's one-line message, shown as it is). A cancelled
 * run (the signal) kills it and rejects with JobError 'cancelled'.
 */
function spawnCli(args: string[], input: string | undefined, onLine: (line: string) => void, hooks: JobHooks): Promise<{ code: number | null; lastError?: string }> {
  return new Promise((resolve, reject) => {
    if (hooks.signal?.aborted) return reject(new JobError('cancelled', 'cancelled'));
    // Inside VS Code, execPath is Electron: this makes it the plain Node it contains.
    const child = spawn(process.execPath, args, { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let lastError: string | undefined;
    lines(child.stdout!, onLine);
    lines(child.stderr!, (line) => { if (line.trim()) lastError = line.trim().replace(/^reducible: /, ''); });
    if (input !== undefined) {
      // A CLI that exits before reading (bad arguments) closes the pipe: its exit says why.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(input);
    }
    const onAbort = (): void => { child.kill('SIGTERM'); };
    hooks.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => reject(new JobError('runtime', `cannot start the ${args[1]} job: ${e.message}`)));
    child.on('close', (code) => {
      hooks.signal?.removeEventListener('abort', onAbort);
      if (hooks.signal?.aborted) reject(new JobError('cancelled', 'cancelled'));
      else resolve({ code, lastError });
    });
  });
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    const all = (partial + d).split('\n');
    partial = all.pop()!;
    for (const line of all) onLine(line);
  });
  stream.on('end', () => { if (partial) onLine(partial); });
}
