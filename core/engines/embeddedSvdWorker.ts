// Worker thread entry (dist/svdWorker.js) for the embedded engine's truncated SVDs: keeps
// the heavy f64 loops off the calling thread (extension host, language server, CLI).
import { parentPort } from 'node:worker_threads';
import { truncatedSvd } from './embeddedSvd.js';
import type { SvdRequest, SvdResponse } from './embeddedSvdPool.js';

parentPort?.on('message', (req: SvdRequest) => {
  let res: SvdResponse;
  try {
    const { u, s, vt } = truncatedSvd(req.data, req.rows, req.cols, req.rank);
    res = { id: req.id, ok: true, u, s, vt };
    parentPort!.postMessage(res, [u.buffer as ArrayBuffer, s.buffer as ArrayBuffer, vt.buffer as ArrayBuffer]);
  } catch (e) {
    res = { id: req.id, ok: false, error: (e as Error).message };
    parentPort!.postMessage(res);
  }
});
