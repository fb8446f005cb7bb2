// One extension activation, in a fresh Node process as in a fresh extension host: loads
// dist/extension.cjs against a stand-in `vscode` module and times require + activate().
// Prints one JSON line. Run by bench/lsp/activation.ts; plain JavaScript so that no
// TypeScript loader sits in the measured require.
import { createRequire } from 'node:module';
import Module from 'node:module';
import childProcess from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const t0 = performance.now();
const touched = new Map();
const note = (path) => touched.set(path, (touched.get(path) ?? 0) + 1);

/**
 * Any part of the VS Code API the extension (or vscode-languageclient) reaches for: callable,
 * constructible, every property another stub (or what was assigned to it); each call is
 * recorded by its path. Not a thenable, so awaiting one does not hang.
 */
function stub(path) {
  const assigned = new Map();
  return new Proxy(function () {}, {
    get(_, prop) {
      if (assigned.has(prop)) return assigned.get(prop);
      if (prop === 'then' || typeof prop === 'symbol') return undefined;
      if (prop === 'prototype') return Object.prototype;
      return stub(`${path}.${prop}`);
    },
    set(_, prop, value) { assigned.set(prop, value); return true; },
    apply() { note(path); return stub(`${path}()`); },
    construct() { note(`new ${path}`); return stub(`new ${path}`); },
  });
}

const root = resolve(process.argv[2] ?? '.');
const bundle = join(root, 'dist/extension.cjs');

/**
 * The few values code branches on get real answers; the rest are stubs. esbuild's ESM interop
 * copies the module's own properties, so every API name the bundle uses is made one of them (found in
 * the bundle's text; reading it is not part of the measured time).
 */
const apiNames = new Set([...readFileSync(bundle, 'utf8').matchAll(/\bvscode(?:\d*|_\d+)\.([A-Za-z_]\w*)/g)].map((m) => m[1]));
const vscode = new Proxy({
  ...Object.fromEntries([...apiNames].map((n) => [n, stub(n)])),
  version: '1.99.0',
  env: { language: 'en', appName: 'bench', uriScheme: 'vscode', machineId: 'bench', sessionId: 'bench' },
  workspace: new Proxy({
    isTrusted: true,
    workspaceFolders: [],
    getConfiguration: (section) => { note(`workspace.getConfiguration(${section ?? ''})`); return { get: (_key, dflt) => dflt, has: () => false, inspect: () => undefined }; },
  }, { get: (t, p) => (p in t ? t[p] : stub(`workspace.${String(p)}`)) }),
}, { get: (t, p) => (p in t ? t[p] : typeof p === 'symbol' || p === 'then' ? undefined : stub(String(p))) });

const load = Module._load;
Module._load = function (request, ...rest) {
  return request === 'vscode' ? vscode : load.call(this, request, ...rest);
};

// When does the language server process start, and when does it first speak?
let spawnedAt, firstMessageAt;
const spawned = [];
for (const name of ['spawn', 'fork']) {
  const original = childProcess[name];
  childProcess[name] = function (...args) {
    const child = original.apply(this, args);
    spawnedAt ??= performance.now();
    spawned.push(child);
    child.stdout?.once('data', () => { firstMessageAt ??= performance.now(); });
    return child;
  };
}

const storage = mkdtempSync(join(tmpdir(), 'reducible-bench-activate-'));
const context = {
  subscriptions: [],
  extensionPath: root,
  extensionUri: { fsPath: root, scheme: 'file', path: root },
  globalStorageUri: { fsPath: storage, scheme: 'file', path: storage },
  storageUri: { fsPath: storage, scheme: 'file', path: storage },
  asAbsolutePath: (p) => join(root, p),
  globalState: { get: () => undefined, update: async () => undefined, keys: () => [] },
  workspaceState: { get: () => undefined, update: async () => undefined, keys: () => [] },
};

const tRequire = performance.now();
const extension = createRequire(import.meta.url)(bundle);
const tActivate = performance.now();
await extension.activate(context);
const tDone = performance.now();
// Give the server a moment to answer, to show whether activate() waited for it.
await new Promise((r) => globalThis.setTimeout(r, 1500));
console.log(JSON.stringify({
  requireMs: tActivate - tRequire,
  activateMs: tDone - tActivate,
  totalMs: tDone - tRequire,
  bootMs: tRequire - t0,
  serverSpawnedAfterActivateMs: spawnedAt === undefined ? null : spawnedAt - tDone,
  serverFirstMessageAfterActivateMs: firstMessageAt === undefined ? null : firstMessageAt - tDone,
  subscriptions: context.subscriptions.length,
  calls: Object.fromEntries(touched),
}));
// The server would otherwise still be starting up beside the next run.
for (const child of spawned) child.kill();
rmSync(storage, { recursive: true, force: true });
process.exit(0);
