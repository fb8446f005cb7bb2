// Preload for bench/work/run.ts: counts the work one `reducible` CLI run does, without a line of
// instrumentation in core. Loaded with `node --import tsx --import <this file> <checkout>/cli/main.ts …`;
// at process start it patches
//   - onnxruntime-node's InferenceSession.create (resolved from the measured checkout): sessions opened,
//     from a path (onnxruntime reads the .onnx file itself) or from bytes;
//   - node:fs and node:fs/promises (open, openSync, readFile(Sync), createReadStream, writeFile(Sync),
//     createWriteStream, copyFile, rename): opens of the source model and of any .onnx file, bytes read
//     from the source model, and full model writes — distinct files with the model's extension opened
//     for writing, or written under a temporary name (`.x.onnx.<hex>.tmp`) or renamed to one, anywhere
//     (output folder, variant folders, temp folders);
//   - the embedded engine's `spectrum` and `truncatedSvd` on its class prototype (the module is imported
//     by the same file URL the CLI imports, so tsx hands both the same class).
// Each counted call also records where it came from (the first frames of its stack inside the
// checkout), so the bench can say which steps open sessions and write models.
// Env: WORK_COUNTS_DIR (required: counts.<pid>.json is written there at exit), WORK_CHECKOUT (the
// checkout measured), WORK_MODEL (the source model, absolute), WORK_ENGINE_MODULE (optional: the
// engine module, relative to the checkout; default core/engines/embedded.ts).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import workerThreads, { isMainThread } from 'node:worker_threads';

const SELF = fileURLToPath(import.meta.url);
const outDir = process.env.WORK_COUNTS_DIR;

export interface Counts {
  pid: number;
  argv: string[];
  counters: Record<string, number>;
  /** kind → call site (frames inside the checkout, innermost first) → calls. */
  sites: Record<string, Record<string, number>>;
  /** Files counted as full model writes. */
  modelWrites: string[];
  notes: string[];
}

// Worker threads inherit the process's --import flags, but not tsx's loader, so a worker would fail
// on this .ts file: it is taken out of process.execArgv, and workers created without execArgv of
// their own get that filtered list (the --import tsx the CLI was started with stays).
for (let i = 0; i < process.execArgv.length; i++) {
  const a = process.execArgv[i];
  const isSelf = (v: string): boolean => { try { return resolve(v.startsWith('file:') ? fileURLToPath(v) : v) === SELF; } catch { return false; } };
  if ((a === '--import' || a === '--require' || a === '-r') && isSelf(process.execArgv[i + 1] ?? '')) { process.execArgv.splice(i, 2); i--; }
  else if (/^--import=/.test(a) && isSelf(a.slice('--import='.length))) { process.execArgv.splice(i, 1); i--; }
}

if (isMainThread) {
  const wt = workerThreads as unknown as { Worker: new (...a: unknown[]) => unknown };
  const Orig = wt.Worker;
  wt.Worker = class extends (Orig as new (...a: unknown[]) => object) {
    constructor(file: unknown, options?: { execArgv?: string[] }) {
      super(file, { ...options, execArgv: options?.execArgv ?? [...process.execArgv] });
    }
  } as unknown as typeof wt.Worker;
  syncBuiltinESMExports();
}

if (isMainThread && outDir) await install(outDir);

async function install(dir: string): Promise<void> {
  const checkout = resolve(process.env.WORK_CHECKOUT ?? process.cwd());
  const model = resolve(process.env.WORK_MODEL ?? '');
  const modelExt = extname(model).toLowerCase() || '.onnx';
  const counters: Record<string, number> = {};
  const sites: Record<string, Record<string, number>> = {};
  const notes: string[] = [];
  const bump = (k: string, by = 1): void => { counters[k] = (counters[k] ?? 0) + by; };
  const origWriteFileSync = fs.writeFileSync;

  /** The first frames of the current stack inside the checkout (not node_modules, not this file). */
  // Plumbing every caller passes through: left out of a site after its innermost frame, so the
  // frames shown are the steps that asked for the work.
  const PLUMBING = /^core\/(lanes|io\/layerBuffers)\.ts:/;
  const site = (): string => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 60;
    const stack = new Error().stack ?? '';
    Error.stackTraceLimit = limit;
    const frames = stack.split('\n').slice(1);
    const mine: string[] = [];
    for (const f of frames) {
      const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):\d+\)?\s*$/.exec(f);
      if (!m) continue;
      const file = m[1].startsWith('file://') ? fileURLToPath(m[1]) : m[1];
      if (file === SELF || !file.startsWith(checkout + sep) || file.includes(`${sep}node_modules${sep}`)) continue;
      const fn = /^\s*at (?:async )?([^\s(]+) \(/.exec(f)?.[1];
      const at = `${relative(checkout, file)}:${m[2]}${fn ? ` ${fn}` : ''}`;
      if (mine.length && PLUMBING.test(at)) continue;
      mine.push(at);
      if (mine.length === 6) break;
    }
    return mine.join(' < ') || '(outside the checkout)';
  };
  const record = (kind: string): void => {
    bump(kind);
    const s = site();
    (sites[kind] ??= {})[s] = (sites[kind][s] ?? 0) + 1;
  };

  // ---- files -------------------------------------------------------------------------------
  const toPath = (p: unknown): string | undefined => {
    if (typeof p === 'string') return resolve(p);
    if (p instanceof URL) return fileURLToPath(p);
    if (Buffer.isBuffer(p)) return resolve(p.toString());
    return undefined; // a file descriptor or a FileHandle: its open was counted already
  };
  const isModelPath = (p: string): boolean => p === model;
  const isOnnx = (p: string): boolean => p.toLowerCase().endsWith('.onnx');
  /** A temporary written for a final file with the model's extension (core/io/atomicOutput.ts names them `.<name>.<hex>.tmp`). */
  const isModelTemp = (p: string): boolean => new RegExp(`\\${modelExt}\\.[0-9a-f]+\\.tmp$`, 'i').test(basename(p));
  const isScratch = (p: string): boolean => /\.scratch\.tmp$/i.test(basename(p));
  const written = new Set<string>();
  const modelWrites = new Set<string>();

  const onRead = (p: string | undefined): void => {
    if (!p) return;
    if (isModelPath(p)) record('source model opened for reading');
    if (isOnnx(p)) record('.onnx files opened for reading (node fs)');
  };
  const onWrite = (p: string | undefined): void => {
    if (!p) return;
    written.add(p);
    if (isScratch(p)) { record('scratch files created'); return; }
    if (p.toLowerCase().endsWith(modelExt) || isModelTemp(p)) {
      if (!modelWrites.has(p)) { modelWrites.add(p); record('full model writes'); }
    }
  };
  const onRename = (from: unknown, to: unknown): void => {
    const a = toPath(from), b = toPath(to);
    if (!a || !b) return;
    // A file written under another name and then given the model's extension is a model write too.
    if (written.has(a) && b.toLowerCase().endsWith(modelExt) && !modelWrites.has(a) && !modelWrites.has(b)) {
      modelWrites.add(b); record('full model writes');
    }
    if (written.has(a)) written.add(b);
  };
  const isWriteFlags = (flags: unknown): boolean => {
    if (flags === undefined || flags === null) return false;
    if (typeof flags === 'number') return (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR | fs.constants.O_CREAT)) !== 0;
    return /[wax+]/.test(String(flags));
  };
  const onOpen = (p: unknown, flags: unknown): void => {
    const path = toPath(p);
    if (isWriteFlags(flags)) onWrite(path); else onRead(path);
  };
  const flagsOf = (opts: unknown): unknown => (typeof opts === 'string' ? undefined : (opts as { flag?: unknown; flags?: unknown } | undefined)?.flag ?? (opts as { flags?: unknown } | undefined)?.flags);

  type AnyFn = (...a: unknown[]) => unknown;
  const wrap = (obj: Record<string, unknown>, name: string, before: (...a: unknown[]) => void): void => {
    const orig = obj[name] as AnyFn | undefined;
    if (typeof orig !== 'function') return;
    obj[name] = function (this: unknown, ...a: unknown[]) { try { before(...a); } catch { /* never break the run */ } return orig.apply(this, a); };
  };

  // FileHandle.read: bytes read from the source model (handles are tracked when opened).
  const modelHandles = new WeakSet<object>();
  const probe = await fsp.open(SELF, 'r');
  const handleProto = Object.getPrototypeOf(probe) as Record<string, unknown>;
  await probe.close();
  const origHandleRead = handleProto.read as AnyFn;
  handleProto.read = function (this: object, ...a: unknown[]) {
    const r = origHandleRead.apply(this, a) as Promise<{ bytesRead: number }>;
    if (!modelHandles.has(this)) return r;
    bump('source model read calls');
    return r.then((x) => { bump('source model bytes read', x.bytesRead); return x; });
  };

  const origOpenP = fsp.open;
  (fsp as unknown as Record<string, unknown>).open = async function (path: fs.PathLike, flags?: string | number, mode?: fs.Mode) {
    onOpen(path, flags);
    const fh = await origOpenP(path, flags, mode);
    if (!isWriteFlags(flags) && toPath(path) === model) modelHandles.add(fh);
    return fh;
  };
  wrap(fsp as unknown as Record<string, unknown>, 'readFile', (p) => onRead(toPath(p)));
  wrap(fsp as unknown as Record<string, unknown>, 'writeFile', (p) => onWrite(toPath(p)));
  wrap(fsp as unknown as Record<string, unknown>, 'appendFile', (p) => onWrite(toPath(p)));
  wrap(fsp as unknown as Record<string, unknown>, 'copyFile', (a, b) => { onRead(toPath(a)); onWrite(toPath(b)); });
  wrap(fsp as unknown as Record<string, unknown>, 'rename', onRename);

  // readFileSync calls the public openSync, and streams the public open, in some Node versions
  // (20 does both): each file is counted once, by the outer call.
  const f = fs as unknown as Record<string, unknown>;
  let inSync = 0;
  const streamOpens = new Map<string, number>();
  const viaStream = (p: unknown): boolean => {
    const path = toPath(p);
    const n = path ? streamOpens.get(path) ?? 0 : 0;
    if (n > 0) streamOpens.set(path!, n - 1);
    return n > 0;
  };
  const wrapOuterSync = (name: string, before: (...a: unknown[]) => void): void => {
    const orig = f[name] as AnyFn | undefined;
    if (typeof orig !== 'function') return;
    f[name] = function (this: unknown, ...a: unknown[]) {
      try { before(...a); } catch { /* never break the run */ }
      inSync++;
      try { return orig.apply(this, a); } finally { inSync--; }
    };
  };
  const wrapStream = (name: string, defaultFlags: string): void => {
    wrap(f, name, (p, o) => {
      const path = toPath(p);
      if (!path) return;
      onOpen(path, flagsOf(o) ?? defaultFlags);
      streamOpens.set(path, (streamOpens.get(path) ?? 0) + 1);
    });
  };
  wrap(f, 'open', (p, flags) => { if (!viaStream(p)) onOpen(p, typeof flags === 'function' ? undefined : flags); });
  wrap(f, 'openSync', (p, flags) => { if (!inSync) onOpen(p, flags); });
  wrapOuterSync('readFileSync', (p) => onRead(toPath(p)));
  wrapOuterSync('writeFileSync', (p) => onWrite(toPath(p)));
  wrapOuterSync('appendFileSync', (p) => onWrite(toPath(p)));
  wrapOuterSync('copyFileSync', (a, b) => { onRead(toPath(a)); onWrite(toPath(b)); });
  wrapOuterSync('renameSync', onRename);
  wrapStream('createReadStream', 'r');
  wrapStream('createWriteStream', 'w');
  wrap(f, 'readFile', (p) => onRead(toPath(p)));
  wrap(f, 'writeFile', (p) => onWrite(toPath(p)));
  wrap(f, 'copyFile', (a, b) => { onRead(toPath(a)); onWrite(toPath(b)); });
  wrap(f, 'rename', onRename);
  syncBuiltinESMExports(); // `import { open } from 'node:fs/promises'` now sees the patched functions

  // ---- onnxruntime -------------------------------------------------------------------------
  const req = createRequire(join(checkout, 'package.json'));
  const PATCHED = Symbol.for('reducible.bench.work.patched');
  const patchSession = (IS: Record<string | symbol, unknown> | undefined, from: string): boolean => {
    if (!IS || typeof IS.create !== 'function') return false;
    if (IS[PATCHED]) return true;
    const orig = IS.create as AnyFn;
    IS.create = function (this: unknown, ...a: unknown[]) {
      record('onnxruntime sessions opened');
      const what = a[0];
      if (typeof what === 'string') {
        record('onnxruntime sessions from a path');
        if (resolve(what) === model) record('onnxruntime sessions on the source model');
        else if (isOnnx(what)) record('onnxruntime sessions on a written variant');
      } else record('onnxruntime sessions from bytes');
      return orig.apply(this, a);
    };
    IS[PATCHED] = true;
    notes.push(`patched InferenceSession.create from ${from}`);
    return true;
  };
  try {
    const nodeMain = req.resolve('onnxruntime-node');
    const ort = req('onnxruntime-node') as { InferenceSession?: Record<string, unknown> };
    patchSession(ort.InferenceSession, relative(checkout, nodeMain));
    // The ESM build of onnxruntime-common, should anything reach it instead of the CommonJS one.
    const reqOrt = createRequire(nodeMain);
    const commonCjs = reqOrt('onnxruntime-common') as { InferenceSession?: Record<string, unknown> };
    patchSession(commonCjs.InferenceSession, 'onnxruntime-common (require)');
    const commonEsm = await import(pathToFileURL(join(reqOrt.resolve('onnxruntime-common').replace(/dist[\\/]cjs[\\/].*$/, ''), 'dist/esm/index.js')).href).catch(() => undefined) as { InferenceSession?: Record<string, unknown> } | undefined;
    patchSession(commonEsm?.InferenceSession, 'onnxruntime-common (import)');
  } catch (e) {
    notes.push(`onnxruntime-node not patched: ${(e as Error).message.split('\n')[0]}`);
  }

  // ---- engine ------------------------------------------------------------------------------
  const engineModule = join(checkout, process.env.WORK_ENGINE_MODULE ?? 'core/engines/embedded.ts');
  try {
    const mod = await import(pathToFileURL(engineModule).href) as Record<string, unknown>;
    let found = 0;
    for (const [name, v] of Object.entries(mod)) {
      if (typeof v !== 'function' || !v.prototype) continue;
      const proto = v.prototype as Record<string, unknown>;
      for (const method of ['spectrum', 'truncatedSvd'] as const) {
        const orig = proto[method] as AnyFn | undefined;
        if (typeof orig !== 'function') continue;
        const kind = method === 'spectrum' ? 'spectra computed (engine.spectrum)' : 'truncated SVDs (engine.truncatedSvd)';
        proto[method] = function (this: unknown, ...a: unknown[]) { record(kind); return orig.apply(this, a); };
        found++;
        notes.push(`patched ${name}.prototype.${method} in ${relative(checkout, engineModule)}`);
      }
    }
    if (!found) notes.push(`no class with spectrum/truncatedSvd in ${relative(checkout, engineModule)}`);
  } catch (e) {
    notes.push(`engine not patched (${relative(checkout, engineModule)}): ${(e as Error).message.split('\n')[0]}`);
  }

  process.on('exit', () => {
    const counts: Counts = { pid: process.pid, argv: process.argv.slice(2), counters, sites, modelWrites: [...modelWrites], notes };
    origWriteFileSync(join(dir, `counts.${process.pid}.json`), `${JSON.stringify(counts, null, 1)}\n`);
  });
}
