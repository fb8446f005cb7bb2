// Runs `reducible compress` and `reducible evaluate` (dist/cli.js) as child processes for the
// extension: the jobs leave the extension host responsive, and killing one on cancel leaves no
// output behind (the CLI writes atomically and aborts on SIGTERM). No VS Code imports: tested
// under plain Node.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CompressReport } from '../core/compress/report.js';
import type { Method, StorageDType } from '../core/compress/types.js';
import type { EvalReport } from '../core/eval/evaluate.js';

export type CompressGoal = { ratio: number } | { energy: number } | { plan: { layers: Record<string, number> } };

export interface CompressJob {
  model: string;
  goal: CompressGoal;
  dtype?: StorageDType;
  /** `--method`; whitened needs `calibration`. Absent: plain SVD. */
  method?: Exclude<Method, 'svd'>;
  /** Fine-tuning steps (`--finetune`); needs `calibration`. */
  finetune?: number;
  /** Unlabeled inputs (`--calibration x.npy|x.npz[:key]`). */
  calibration?: string;
  engine?: string;
  /** Interpreter for the PyTorch engine. */
  python?: string;
  /** Replace an existing output. */
  force?: boolean;
}

export interface JobHooks {
  signal?: AbortSignal;
  progress?(fraction: number, label: string): void;
}

/** The CLI's one-line refusal ("reducible: <file>: <problem>"), as an error the UI can show. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number | null) {
    super(message);
    this.name = 'CliError';
  }
}

export async function runCompress(cliPath: string, job: CompressJob, hooks: JobHooks = {}): Promise<CompressReport> {
  const scratch = 'plan' in job.goal ? await mkdtemp(join(tmpdir(), 'reducible-plan-')) : undefined;
  try {
    const goal = 'ratio' in job.goal ? ['--ratio', String(job.goal.ratio)]
      : 'energy' in job.goal ? ['--energy', String(job.goal.energy)]
        : ['--ranks', join(scratch!, 'plan.json')];
    if ('plan' in job.goal) await writeFile(goal[1], JSON.stringify(job.goal.plan));
    const args = [cliPath, 'compress', job.model, ...goal, '--json',
      ...(job.dtype ? ['--dtype', job.dtype] : []), ...(job.engine ? ['--engine', job.engine] : []),
      ...(job.method ? ['--method', job.method] : []), ...(job.finetune ? ['--finetune', String(job.finetune)] : []),
      ...(job.calibration ? ['--calibration', job.calibration] : []),
      ...(job.python ? ['--python', job.python] : []), ...(job.force ? ['--force'] : [])];
    return await run<CompressReport>(args, hooks);
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

/** Data for `evaluate`: arrays as the CLI takes them (`x.npy`, `x.npz[:key]`), absolute paths. */
export interface EvalData { inputs?: string; labels?: string }

/** `reducible evaluate <original> <compressed> --json`: the same numbers the command prints. */
export function runEvaluate(cliPath: string, original: string, compressed: string, data: EvalData, hooks: JobHooks = {}): Promise<EvalReport> {
  // Labels score the inputs they come with; without inputs the CLI draws them from the signature.
  const flags = data.inputs ? ['--inputs', data.inputs, ...(data.labels ? ['--labels', data.labels] : [])] : [];
  return run<EvalReport>([cliPath, 'evaluate', original, compressed, ...flags, '--json'], hooks);
}

function run<T>(args: string[], hooks: JobHooks): Promise<T> {
  return new Promise((resolve, reject) => {
    // Inside VS Code, execPath is Electron: this makes it the plain Node it contains.
    const child = spawn(process.execPath, args, { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const messages: string[] = [];
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const p = progressLine(line);
        if (p) hooks.progress?.(p.progress, p.label);
        else if (line.trim()) messages.push(line.trim());
      }
    });
    const onAbort = (): void => { child.kill('SIGTERM'); };
    hooks.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => reject(new CliError(`cannot start the ${args[1]} job: ${e.message}`, null)));
    child.on('close', (code) => {
      hooks.signal?.removeEventListener('abort', onAbort);
      if (partial.trim()) messages.push(partial.trim());
      if (hooks.signal?.aborted) return reject(new CliError('cancelled', code));
      if (code !== 0) return reject(new CliError((messages.at(-1) ?? `${args[1]} failed with exit code ${code}`).replace(/^reducible: /, ''), code));
      try {
        resolve(JSON.parse(stdout) as T);
      } catch {
        reject(new CliError(`${args[1]} printed no report: ${stdout.slice(0, 200)}`, code));
      }
    });
  });
}

function progressLine(line: string): { progress: number; label: string } | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const p = JSON.parse(line) as { progress?: unknown; label?: unknown };
    return typeof p.progress === 'number' ? { progress: p.progress, label: String(p.label ?? '') } : undefined;
  } catch {
    return undefined;
  }
}
