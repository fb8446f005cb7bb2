// The HDF5 worker (dist/h5Worker.js): libhdf5 (h5wasm) runs here, never on the CLI's or the
// language server's own thread, because on some corrupt files it loops forever or grows its
// heap without bound (h5py with native libhdf5 loops on the same files) and a synchronous
// WebAssembly call cannot be interrupted. The caller (containers/h5Remote.ts) gives each request a
// deadline and a heap cap and terminates this thread when either is passed.
// One file is open at a time: `open` answers with the file's structure as plain data
// (containers/h5Tree.ts), `read` with a dataset's bytes, `close` makes the thread ready for another file.
import { parentPort } from 'node:worker_threads';
import type { Attribute, File, Group } from 'h5wasm/node';
import { InputError } from '../../types.js';
import { H5_READY, type H5Payload, type H5Request, type H5Response } from './h5Protocol.js';
import type { H5Attr, H5Group, H5Node } from './h5Tree.js';
import { datasetDType, h5, h5Reason, h5Refusal, isDataset, isGroup, openH5, readDatasetBytes, vlenStrings } from './h5wasm.js';

/** More objects than any model has; a cyclic or exploded structure is refused at this count. */
const MAX_OBJECTS = 1_000_000;

let file: File | undefined;
let shownAs = '';

function attrsOf(obj: Group | ReturnType<Group['get']>): H5Attr[] {
  const attrs = (obj as Group).attrs;
  return Object.keys(attrs).map((name) => {
    const a: Attribute = attrs[name];
    const m = a.metadata;
    const out: H5Attr = { name, type: m.type, vlen: Boolean(m.vlen), size: m.size, shape: m.shape ?? null };
    if (typeof a.dtype === 'string') out.dtype = a.dtype;
    try {
      if (m.type === 3 && m.vlen) out.value = vlenStrings(obj as Group, name, m);
      else if (m.type === 0 || m.type === 1 || m.type === 3) out.value = a.value;
    } catch (e) {
      out.error = h5Reason(e);
    }
    return out;
  });
}

/** The file's groups, datasets and attributes, depth first. */
function snapshot(root: File): H5Group {
  let objects = 0;
  const visit = (g: Group, name: string): H5Group => {
    const children: H5Node[] = [];
    for (const key of g.keys()) {
      if (++objects > MAX_OBJECTS) throw new InputError(shownAs, `corrupt HDF5 file (more than ${MAX_OBJECTS} objects)`);
      const c = g.get(key);
      if (isGroup(c)) children.push(visit(c, key));
      else if (isDataset(c)) children.push({ kind: 'dataset', name: key, path: c.path, attrs: attrsOf(c), dtype: datasetDType(c), shape: c.shape ?? null });
      else children.push({ kind: 'other', name: key, path: `${g.path.replace(/\/$/, '')}/${key}`, attrs: [] });
    }
    return { kind: 'group', name, path: g.path, attrs: attrsOf(g), children };
  };
  return visit(root, '');
}

async function handle(req: H5Request): Promise<H5Payload> {
  if (req.op === 'open') {
    if (file) throw new Error(`HDF5 worker asked to open ${req.shownAs} while ${shownAs} is open`);
    shownAs = req.shownAs;
    const f = await openH5(req.path, 'r', req.shownAs);
    try {
      const root = snapshot(f);
      file = f;
      return { root };
    } catch (e) {
      // Closing a file libhdf5 just failed on can fail too; the refusal says what is wrong.
      try { f.close(); } catch { /* see above */ }
      throw h5Refusal(e, req.shownAs);
    }
  }
  if (!file) throw new Error(`HDF5 worker has no open file for ${req.op}`);
  if (req.op === 'read') {
    let ds;
    try { ds = file.get(req.path); } catch (e) { throw h5Refusal(e, shownAs); }
    if (!isDataset(ds)) throw new InputError(shownAs, `dataset ${req.path} disappeared`);
    return { bytes: await readDatasetBytes(ds, shownAs) };
  }
  const f = file;
  file = undefined;
  try { f.close(); } catch (e) { throw h5Refusal(e, shownAs); }
  return {};
}

/**
 * How a failure is answered. Everything this thread does is libhdf5 on the file's bytes, so
 * h5wasm's own errors ("error - name not defined!", thrown by its JavaScript) and WebAssembly
 * traps (an abort, a bad function pointer) are the file's fault: refusals. After a trap the
 * module's state is unknown — the long fuzz run saw traps on files that read cleanly in a fresh
 * module, after thousands of inputs in one — so the thread is retired rather than given the
 * next file. Our own bugs (TypeError and the like) stay errors.
 */
function answerFor(id: number, e: unknown): H5Response {
  if (e instanceof InputError) return { id, ok: false, refusal: e.message };
  const text = e instanceof Error ? e.message.split('\n')[0].replace(/^error - /, '').replace(/!$/, '') : String(e);
  if (e instanceof WebAssembly.RuntimeError) return { id, ok: false, refusal: new InputError(shownAs, `corrupt HDF5 file (libhdf5 stopped: ${text})`).message, retire: true };
  if (e instanceof Error && e.constructor === Error) return { id, ok: false, refusal: new InputError(shownAs, `corrupt HDF5 file (${text})`).message };
  return { id, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

const port = parentPort!;
port.on('message', (req: H5Request) => {
  void handle(req).then(
    (r) => port.postMessage({ id: req.id, ok: true, ...r } satisfies H5Response, r.bytes ? [r.bytes.buffer as ArrayBuffer] : []),
    (e: unknown) => port.postMessage(answerFor(req.id, e)));
});
await h5();
port.postMessage(H5_READY);
