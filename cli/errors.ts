// What a failure means to a caller: the stable code of the job contract (shared/jobProtocol.ts),
// the exit code that goes with it and the one line the CLI prints. Used for every command's
// failures (main.ts) and for `compress --job`'s error event (job.ts).
import { CancelledError, InputError } from '../core/types.js';
import type { JobErrorEvent } from '../shared/jobProtocol.js';

export function jobError(err: unknown): JobErrorEvent {
  if (err instanceof InputError) return { type: 'error', code: err.code, message: err.message, ...(err.file ? { file: err.file } : {}) };
  if (err instanceof CancelledError) return { type: 'error', code: 'cancelled', message: 'cancelled' };
  // Runtimes (onnxruntime, tfjs) throw multi-line messages; the contract is one line.
  return { type: 'error', code: 'runtime', message: (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ') };
}
