// Worker thread of the embedded engine: runs one kernel per message.
import { parentPort } from 'node:worker_threads';
import { singularValues } from '../linalg/singularValues.js';
import type { WorkerRequest, WorkerResponse } from './workerProtocol.js';

parentPort?.on('message', (req: WorkerRequest) => {
  let res: WorkerResponse;
  try {
    const values = singularValues(req.data, req.rows, req.cols);
    res = { id: req.id, ok: true, values };
    parentPort!.postMessage(res, [values.buffer as ArrayBuffer]);
  } catch (e) {
    res = { id: req.id, ok: false, error: (e as Error).message };
    parentPort!.postMessage(res);
  }
});
