// The HDF5 worker (dist/h5Worker.js): libhdf5 (h5wasm) runs here, never on the CLI's or the
// language server's own thread, because on some corrupt files it loops forever or grows its
// heap without bound (h5py with native libhdf5 loops on the same files) and a synchronous
// WebAssembly call cannot be interrupted. The caller (containers/h5Remote.ts) gives each request a
// deadline and a heap cap and terminates this thread when either is passed.
// One file is open at a time: `open` answers with the file's structure as plain data
// (containers/h5Tree.ts), `read` with a dataset's bytes, `close` makes the thread ready for another file.
// libhdf5 opens other files on a file's say (external links, virtual datasets, external raw
// storage): none of that is followed. The walk refuses external links and virtual datasets by
// name, and a guard on this thread's `fs.openSync` lets libhdf5 open the requested file only,
// so external storage, or any route not thought of here, ends in a refusal naming its target.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { resolve } from 'node:path';
import { parentPort } from 'node:worker_threads';
import type { Attribute, Dataset, File, Group } from 'h5wasm/node';
import { InputError } from '../../types.js';
import { H5_READY, type H5Payload, type H5Request, type H5Response } from './h5Protocol.js';
import type { H5Attr, H5Group, H5Node } from './h5Tree.js';
import { datasetDType, externalLinkOf, h5, h5Reason, h5Refusal, isChunked, isDataset, isGroup, openH5, probeFirstElement, readDatasetBytes, virtualSourcesOf, vlenStrings } from './h5wasm.js';

/** More objects than any model has; a cyclic or exploded structure is refused at this count. */
const MAX_OBJECTS = 1_000_000;

let file: File | undefined;
let shownAs = '';
let fileBytes = 0;

/** The one file libhdf5 may open (undefined until the first request: loading it opens nothing of a file's). */
let allowed: string | undefined;
/** The first other file libhdf5 tried to open during the current request. */
let blocked: string | undefined;

/**
 * Whether libhdf5 reaches for data outside the model file by opening `p`: anything that exists
 * and is not a folder (plugin folders are listed) nor the model file. Paths that do not exist
 * are left to fail, or to be created: libc's tmpfile(), which libhdf5 uses, makes new files.
 */
function outsideFile(p: string): boolean {
  if (allowed === undefined || resolve(p) === allowed) return false;
  try {
    return !fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

const realOpenSync = fs.openSync;
fs.openSync = ((p: fs.PathLike, ...rest: unknown[]) => {
  if (outsideFile(String(p))) {
    blocked ??= String(p);
    throw Object.assign(new Error(`EACCES: the HDF5 reader opens no file but the model's, open '${String(p)}'`), { code: 'EACCES', errno: -13, syscall: 'open', path: String(p) });
  }
  return (realOpenSync as (...a: unknown[]) => number)(p, ...rest);
}) as typeof fs.openSync;

/**
 * Whether libhdf5 (emscripten) printed during the current request that its heap could not grow.
 * This thread's stderr is not passed on: those prints ("Cannot enlarge memory…", "Aborted(…)",
 * an HDF5 error stack) come with a failure that is answered in one refusal line, and would be
 * extra lines of the CLI's or the server's output.
 */
let outOfMemory = false;
process.stderr.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
  if (/Cannot enlarge memory/.test(String(chunk))) outOfMemory = true;
  const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
  if (done) queueMicrotask(done);
  return true;
}) as typeof process.stderr.write;

// libhdf5's own prints (C stdio, an error stack) go through the emscripten file system straight to fd 1 and 2.
const realWriteSync = fs.writeSync;
fs.writeSync = ((fd: number, data: unknown, ...rest: unknown[]): number => {
  if (fd !== 1 && fd !== 2) return (realWriteSync as (...a: unknown[]) => number)(fd, data, ...rest);
  // Emscripten passes its whole heap with an offset and a length.
  const [offset, length] = rest;
  const bytes = typeof data === 'string' ? Buffer.from(data)
    : new Uint8Array((data as Uint8Array).buffer, (data as Uint8Array).byteOffset + (typeof offset === 'number' ? offset : 0), typeof length === 'number' ? length : (data as Uint8Array).byteLength);
  if (/Cannot enlarge memory/.test(Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 4096)).toString())) outOfMemory = true;
  return bytes.length;
}) as typeof fs.writeSync;

/** Bytes libhdf5 has read from files (only the model's may be open), for the inflation check of filtered datasets. */
let fileRead = 0;
const realReadSync = fs.readSync;
fs.readSync = ((...args: unknown[]): number => {
  const n = (realReadSync as (...a: unknown[]) => number)(...args);
  fileRead += n;
  return n;
}) as typeof fs.readSync;

syncBuiltinESMExports();

/** A refusal's text, saying so when libhdf5 ran out of WebAssembly memory on the way. */
function withMemoryNote(text: string): string {
  return outOfMemory && !/memory/i.test(text) ? `${text} (the HDF5 reader ran out of memory)` : text;
}

/** A name from the file, as a short JSON string: it can hold newlines and control bytes. */
function quoted(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
}

/** The refusal for a request during which libhdf5 reached for another file, if it did. */
function outsideRefusal(what: string): InputError | undefined {
  return blocked === undefined ? undefined : new InputError(shownAs, `${what} refers to data in another file (${quoted(blocked)}), which is never read`);
}

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

/**
 * The file's groups, datasets and attributes, depth first. External links, virtual datasets and
 * datasets stored in other files (external storage) are refused: a model is its own file.
 */
function snapshot(root: File): H5Group {
  let objects = 0;
  const visit = (g: Group, name: string): H5Group => {
    const children: H5Node[] = [];
    for (const key of g.keys()) {
      if (++objects > MAX_OBJECTS) throw new InputError(shownAs, `corrupt HDF5 file (more than ${MAX_OBJECTS} objects)`);
      const path = `${g.path.replace(/\/$/, '')}/${key}`;
      const link = externalLinkOf(root.file_id, path);
      if (link) throw new InputError(shownAs, `${quoted(path)} is an external link to ${quoted(`${link.filename}:${link.obj_path}`)}: external links are refused, a model's data must be in its own file`);
      let c;
      try {
        c = g.get(key);
        const refused = outsideRefusal(quoted(path));
        if (refused) throw refused;
        if (isDataset(c)) { children.push(datasetNode(c, key)); continue; }
      } catch (e) {
        throw e instanceof InputError ? e : outsideRefusal(quoted(path)) ?? e;
      }
      if (isGroup(c)) children.push(visit(c, key));
      else children.push({ kind: 'other', name: key, path, attrs: [] });
    }
    return { kind: 'group', name, path: g.path, attrs: attrsOf(g), children };
  };
  return visit(root, '');
}

function datasetNode(c: Dataset, key: string): H5Node {
  const sources = virtualSourcesOf(c);
  if (sources) {
    const from = sources.map((s) => `${s.file_name}:${s.dset_name}`).slice(0, 3).join(', ');
    throw new InputError(shownAs, `dataset ${quoted(c.path)} is a virtual dataset (of ${quoted(from)}): virtual datasets are refused, a model's data must be in its own file`);
  }
  if (!isChunked(c)) {
    try { probeFirstElement(c); } catch { /* a dataset that cannot be read is refused when it is read */ }
    const refused = outsideRefusal(`dataset ${quoted(c.path)}`);
    if (refused) throw refused;
  }
  return { kind: 'dataset', name: key, path: c.path, attrs: attrsOf(c), dtype: datasetDType(c), typeClass: c.metadata.type, shape: c.shape ?? null };
}

async function handle(req: H5Request): Promise<H5Payload> {
  if (req.op === 'open') {
    if (file) throw new Error(`HDF5 worker asked to open ${req.shownAs} while ${shownAs} is open`);
    shownAs = req.shownAs;
    allowed = resolve(req.path);
    fileBytes = fs.statSync(req.path).size;
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
    try {
      return { bytes: await readDatasetBytes(ds, shownAs, fileBytes, () => fileRead) };
    } catch (e) {
      throw outsideRefusal(`dataset ${quoted(req.path)}`) ?? e;
    }
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
  if (e instanceof InputError) return { id, ok: false, refusal: withMemoryNote(e.message) };
  const text = e instanceof Error ? e.message.split('\n')[0].replace(/^error - /, '').replace(/!$/, '') : String(e);
  if (e instanceof WebAssembly.RuntimeError) return { id, ok: false, refusal: withMemoryNote(new InputError(shownAs, `corrupt HDF5 file (libhdf5 stopped: ${text})`).message), retire: true };
  if (e instanceof Error && e.constructor === Error) return { id, ok: false, refusal: withMemoryNote(new InputError(shownAs, `corrupt HDF5 file (${text})`).message) };
  return { id, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

const port = parentPort!;
port.on('message', (req: H5Request) => {
  blocked = undefined;
  outOfMemory = false;
  void handle(req).then(
    (r) => port.postMessage({ id: req.id, ok: true, ...r } satisfies H5Response, r.bytes ? [r.bytes.buffer as ArrayBuffer] : []),
    (e: unknown) => port.postMessage(answerFor(req.id, e)));
});
await h5();
port.postMessage(H5_READY);
