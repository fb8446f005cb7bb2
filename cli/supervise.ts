// `reducible compress` runs its job in a child process and only watches it (cli/entry.ts). A signal must end a
// job within a second whatever it is doing, but Node runs signal handlers between callbacks,
// and one synchronous step (a TF.js training step, a WebAssembly kernel over a large layer)
// can hold the job's event loop for seconds on a loaded machine. The supervisor's own loop is
// always free: it passes the signal on, and where the job has not ended within
// SUPERVISOR_GRACE_MS it kills it and removes the temporaries the job reported making.
import { spawn } from 'node:child_process';
import { removeTemporariesSync, reportTemporaries } from '../core/io/temporaries.js';
import { MALLOC_REUSE } from '../core/io/mallocReuse.js';
import { CancelledError } from '../core/types.js';
import { EXIT_CODES } from '../shared/jobProtocol.js';
import { jobError } from './errors.js';

/** Set in the job's process, so it runs the job rather than supervising another. */
const JOB_PROCESS_ENV = 'REDUCIBLE_JOB_PROCESS';
/** A cancelled job has this long to end on its own (its clean-up included) before it is killed. */
const SUPERVISOR_GRACE_MS = 600;
/** How often the supervisor of an IDE's job looks whether the IDE is still there. */
const PARENT_POLL_MS = 250;

/** What the job's process tells its supervisor over the IPC channel. */
export interface TemporaryMessage { temporary: string; live: boolean }

export const isJobProcess = (): boolean => process.env[JOB_PROCESS_ENV] === '1';

/** True when `reducible compress` is asked for `--job`: then every outcome is a JobEvent on stdout. */
export const isJob = (argv: string[]): boolean => argv.some((a) => a === '--job' || a.startsWith('--job='));

/** In the job's process: report every temporary made and removed to the supervisor. */
export function reportTemporariesToSupervisor(): void {
  if (!process.send) return;
  // The channel must not keep the job's process alive once the job is done.
  process.channel?.unref();
  // A supervisor that is gone (killed) cancels the job as a signal would; nothing more is sent to it.
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  reportTemporaries((temporary, live) => {
    if (process.connected) process.send?.({ temporary, live } satisfies TemporaryMessage, undefined, {}, () => undefined);
  });
}

/**
 * Runs `reducible compress <args>` in a child process and resolves to the exit code for this
 * one. `asJob`: the caller reads JobEvents on stdout (`--job`), and a vanished parent cancels.
 */
export function superviseJob(args: string[], asJob: boolean): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], 'compress', ...args], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    // The job runs models (onnxruntime, tfjs): see mallocReuse.ts.
    env: { ...MALLOC_REUSE, ...process.env, [JOB_PROCESS_ENV]: '1' },
  });
  const temporaries = new Set<string>();
  child.on('message', (m: TemporaryMessage) => { if (m.live) temporaries.add(m.temporary); else temporaries.delete(m.temporary); });
  let cancelled = false, killed = false;
  let grace: NodeJS.Timeout | undefined;
  const kill = (): void => { killed = true; child.kill('SIGKILL'); };
  const onSignal = (): void => {
    if (cancelled) { kill(); return; }
    cancelled = true;
    child.kill('SIGTERM');
    grace = setTimeout(kill, SUPERVISOR_GRACE_MS);
  };
  const parent = process.ppid;
  const watch = asJob ? setInterval(() => { if (process.ppid !== parent) onSignal(); }, PARENT_POLL_MS) : undefined;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return new Promise((resolve) => {
    let ended = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null, failure?: Error): void => {
      if (ended) return;
      ended = true;
      clearTimeout(grace);
      clearInterval(watch);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (code !== null && !killed) { resolve(code); return; }
      // The job did not end by itself: what it left is removed here, and its outcome said here.
      removeTemporariesSync(temporaries);
      const event = jobError(cancelled ? new CancelledError()
        : new Error(failure ? `cannot run the job's process (${failure.message})` : `the job's process was killed (${signal})`));
      if (asJob) process.stdout.write(`${JSON.stringify(event)}\n`);
      console.error(`reducible: ${event.message}`);
      resolve(EXIT_CODES[event.code]);
    };
    child.on('exit', (code, signal) => finish(code, signal));
    child.on('error', (e) => finish(null, null, e));
  });
}
