// Worker thread of the embedded engine: runs one job per message (a spectrum or a truncated
// SVD). Started with HELPER_ROLE it is instead a helper thread that joins another worker's
// big kernels.
import { parentPort, workerData } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { singularValues } from '../linalg/singularValues.js';
import { truncatedSvd } from './embeddedSvd.js';
import { HelperThreads, isHelperRole, serveAsHelper } from '../linalg/helperThreads.js';
import type { Helpers } from '../linalg/wasmSpectra.js';
import type { WorkerRequest, WorkerResponse, WorkerStart } from './workerProtocol.js';

/** Below this min(rows, cols) a second thread's barriers cost more than its share saves. */
const HELP_FROM = 384;

const helpers = new HelperThreads(new URL(import.meta.url));
function helpersFor(req: WorkerRequest): Helpers | undefined {
  const extra = Math.min(req.threads ?? 1, availableParallelism()) - 1;
  if (extra < 1 || Math.min(req.rows, req.cols) < HELP_FROM) return undefined;
  return helpers.take(extra);
}

/** One job: its answer, posted back. */
function serve(req: WorkerRequest): void {
  let res: WorkerResponse;
  try {
    if (req.op === 'svd') {
      const { u, s, vt } = truncatedSvd(req.data, req.rows, req.cols, req.rank, helpersFor(req), req.transposed, req.into, req.reuse);
      res = { id: req.id, ok: true, u, s, vt };
      // Results in shared memory are already the caller's; only arrays of our own move.
      const own = [u, s, vt].map((x) => x.buffer).filter((b): b is ArrayBuffer => !(b instanceof SharedArrayBuffer));
      parentPort!.postMessage(res, own);
    } else {
      const values = singularValues(req.data, req.rows, req.cols, helpersFor(req), req.keep);
      res = { id: req.id, ok: true, values };
      parentPort!.postMessage(res, [values.buffer as ArrayBuffer]);
    }
  } catch (e) {
    res = { id: req.id, ok: false, error: (e as Error).message };
    parentPort!.postMessage(res);
  }
}

if (isHelperRole(workerData)) {
  serveAsHelper(parentPort!);
} else {
  const { warmHelpers = 0 } = (workerData ?? {}) as WorkerStart;
  helpers.start(Math.min(warmHelpers, availableParallelism() - 1));
  parentPort?.on('message', serve);
}
