// The Reducible language server: `node dist/server.js --stdio` (contract). Wires LSP
// messages to the model store; all state lives in the store, all wording in render.ts.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CodeActionKind, CodeLensRefreshRequest, createConnection, DidChangeWatchedFilesNotification, FileChangeType, ProposedFeatures,
  ResponseError, TextDocuments, TextDocumentSyncKind, type Diagnostic,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { removableShare } from '../core/analysis.js';
import type { Engine } from '../core/engines/engine.js';
import { openModel } from '../core/formats/open.js';
import { readRegularFile } from '../core/io/byteSource.js';
import {
  analysisRequest, DEFAULT_SETTINGS, modelsRequest, outlineRequest, statusNotification,
  type InitializationOptions, type ModelSummary, type ServerSettings, type StatusParams,
} from '../shared/protocol.js';
import { AnalysisCache } from './analysisCache.js';
import { findModelFiles, folderOfPart, isModel, isModelFile, searchedRoot, watchedExtensions, type SearchRoot } from './discovery.js';
import { chooseEngine } from './engineChoice.js';
import { codeActions } from './features/codeActions.js';
import { codeLenses } from './features/codeLens.js';
import { fileErrorDiagnostic, layerDiagnostics } from './features/diagnostics.js';
import { excludeTest, NOTHING_EXCLUDED } from './fileExclude.js';
import { hover } from './features/hover.js';
import { ModelStore, type ModelEntry, type Round } from './modelStore.js';
import { isPlanFile, SavedPlans } from './plans.js';
import { mergeSettings } from './settings.js';
import { sitesFor } from './sites/index.js';
import { modelJsonSites } from './sites/modelJson.js';
import { renderOutline } from './sites/outline.js';
import { fileUri, modelPathOf } from './uris.js';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);

let settings: ServerSettings = DEFAULT_SETTINGS;
let roots: SearchRoot[] = [];
/** Each folder's `files.exclude` as last read, to tell whether a configuration change touched it. */
let excludeSettings = new Map<string, string>();
let configurationPull = false;
/** Starting an engine may mean starting Python: it runs beside initialization, not before it. */
let engine: Promise<{ engine: Engine; message?: string }>;
let engineReady: { engine: Engine; message?: string } | undefined;
let store: ModelStore;
let watchers = false;
let lensRefresh = false;
let folderEvents = false;
let lastProgress = 0;
/** Folder walks under way; -1 until the first one starts. "Quiescent" means none is running. */
let scans = -1;
const plans = new SavedPlans(() => watchers);

function sendStatus(round: Round, roundOver: boolean): void {
  // A round (e.g. of a file opened at start) can end before or during a folder walk that
  // will queue more: only with no walk pending is the server quiescent.
  const quiescent = roundOver && scans === 0;
  // Progress is throttled; state changes (start, end) always go out.
  const now = Date.now();
  if (!quiescent && round.current?.fraction && now - lastProgress < 100) return;
  lastProgress = now;
  const params: StatusParams = {
    quiescent, done: round.done, total: round.total,
    engine: engineReady?.engine.description ?? 'starting…', message: engineReady?.message,
    current: round.current && { uri: fileUri(round.current.path), fraction: round.current.fraction, layer: round.current.layer },
  };
  void connection.sendNotification(statusNotification, params);
}

async function publishDiagnostics(entry: ModelEntry): Promise<void> {
  const uri = fileUri(entry.path);
  const tfjs = entry.analysis?.format.startsWith('tfjs');
  const outlines = documents.all().filter((doc) => {
    const m = modelPathOf(doc.uri);
    return m?.outline && m.path === entry.path;
  });
  // Only layer diagnostics use the plan: a model without them (or not analysed) needs no read.
  const plan = entry.analysis && (tfjs || outlines.length) ? await plans.of(entry.path) : undefined;
  let diagnostics: Diagnostic[] = [];
  if (entry.state === 'error') diagnostics = [fileErrorDiagnostic(entry.message ?? 'cannot read this model')];
  if (entry.analysis && tfjs) {
    // Read as the model was (regular file, non-blocking): it may have been swapped for a FIFO since.
    const doc = documents.get(uri) ?? TextDocument.create(uri, 'json', 0, await readRegularFile(entry.path).then((bytes) => new TextDecoder().decode(bytes), () => ''));
    diagnostics = layerDiagnostics(modelJsonSites(doc, entry.analysis), plan);
  }
  void connection.sendDiagnostics({ uri, diagnostics });
  for (const doc of outlines) void connection.sendDiagnostics({ uri: doc.uri, diagnostics: layerDiagnostics(sitesFor(doc, store), plan) });
}

function onChanged(entry: ModelEntry): void {
  void publishDiagnostics(entry);
  if (lensRefresh && entry.state !== 'pending' && entry.state !== 'analysing') void connection.sendRequest(CodeLensRefreshRequest.type);
}

function startEngine(): void {
  const previous = engine;
  engineReady = undefined;
  engine = chooseEngine(settings.engine, settings.pythonPath).then((e) => {
    engineReady = e;
    // Status bars show the engine: tell them now rather than at the next analysis.
    reportIfIdle();
    return e;
  });
  // A kernel cut off by close() would never answer: move the running analysis first.
  void previous?.then(async (p) => { await store.interrupt(); await p.engine.close(); });
}

/** A quiescent status outside analysis rounds (they report their own end). */
function reportIfIdle(): void {
  if (scans === 0 && store.idle()) sendStatus({ done: 0, total: 0 }, true);
}

const searchRoot = (path: string): SearchRoot => ({ path, excluded: NOTHING_EXCLUDED });

/**
 * Reads every folder's `files.exclude` (workspace/configuration, scoped to the folder, as
 * VS Code and other editors answer it); true when any changed since the last read.
 */
async function readExcludes(): Promise<boolean> {
  if (!configurationPull || roots.length === 0) return false;
  const values = await connection.workspace.getConfiguration(roots.map((r) => ({ scopeUri: fileUri(r.path), section: 'files.exclude' })))
    .catch(() => roots.map(() => undefined)) as unknown[];
  let changed = false;
  const next = new Map<string, string>();
  roots.forEach((root, i) => {
    const key = JSON.stringify(values[i] ?? null);
    next.set(root.path, key);
    if (excludeSettings.get(root.path) !== key) changed = true;
    root.excluded = excludeTest(values[i]);
  });
  excludeSettings = next;
  return changed;
}

async function rescan(): Promise<void> {
  scans = Math.max(scans, 0) + 1;
  try {
    const found = (await Promise.all(roots.map(findModelFiles))).flat();
    await store.replaceAll(found);
  } finally {
    scans--;
  }
  reportIfIdle();
}

connection.onInitialize(async (params) => {
  const init = (params.initializationOptions ?? {}) as InitializationOptions;
  settings = mergeSettings(DEFAULT_SETTINGS, init.settings);
  roots = (params.workspaceFolders ?? []).map((f) => searchRoot(fileURLToPath(f.uri)));
  if (!roots.length && params.rootUri) roots = [searchRoot(fileURLToPath(params.rootUri))];
  startEngine();
  const cache = await AnalysisCache.open(init.storagePath);
  store = new ModelStore(cache, async () => (await engine).engine, () => settings, {
    changed: onChanged,
    removed: (e) => {
      void connection.sendDiagnostics({ uri: fileUri(e.path), diagnostics: [] });
      // Lists (the Models view) redraw on a quiescent status; a removal outside a round needs one.
      reportIfIdle();
    },
    progress: sendStatus,
  });
  watchers = params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
  lensRefresh = params.capabilities.workspace?.codeLens?.refreshSupport === true;
  folderEvents = params.capabilities.workspace?.workspaceFolders === true;
  configurationPull = params.capabilities.workspace?.configuration === true;
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      codeLensProvider: { resolveProvider: false },
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.RefactorRewrite] },
      workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
    },
    serverInfo: { name: 'reducible', version: '0.1.0' },
  };
});

connection.onInitialized(async () => {
  if (watchers) {
    await connection.client.register(DidChangeWatchedFilesNotification.type, {
      watchers: [{ globPattern: `**/*.{${watchedExtensions().join(',')}}` }],
    });
  }
  if (folderEvents) {
    connection.workspace.onDidChangeWorkspaceFolders((e) => {
      const removed = new Set(e.removed.map((f) => fileURLToPath(f.uri)));
      roots = [...roots.filter((r) => !removed.has(r.path)), ...e.added.map((f) => searchRoot(fileURLToPath(f.uri)))];
      void readExcludes().then(rescan);
    });
  }
  await readExcludes();
  await rescan();
});

connection.onDidChangeConfiguration(async (params) => {
  const raw = (params.settings as { reducible?: unknown } | undefined)?.reducible;
  if (raw) await applySettings(raw);
  // Any change may be to files.exclude (clients send what they like, often nothing): re-read it.
  if (await readExcludes()) await rescan();
});

/** New `reducible.*` settings, applied before anything awaits so that requests that follow see them. */
async function applySettings(raw: unknown): Promise<void> {
  const before = settings;
  settings = mergeSettings(settings, raw);
  if (settings.engine !== before.engine || settings.pythonPath !== before.pythonPath) startEngine();
  if (settings.energy !== before.energy) store.setEnergy(settings.energy);
  if (settings.maxFileSizeMB !== before.maxFileSizeMB || (settings.autoRun && !before.autoRun)) {
    // Entries whose fate depends on the limit or that waited for autoRun are looked at again.
    const limit = settings.maxFileSizeMB * 2 ** 20;
    for (const e of [...store.entries.values()]) {
      if (e.state === 'skipped' || e.state === 'pending' || e.fileBytes > limit) await store.touch(e.path);
    }
  }
  reportIfIdle();
}

connection.onDidChangeWatchedFiles(async ({ changes }) => {
  for (const change of changes) {
    const path = modelPathOf(change.uri)?.path;
    if (!path) continue;
    if (isPlanFile(path)) {
      // A saved plan changes the diagnostics of the models beside it, not what they are.
      plans.changed(path);
      for (const e of store.ready()) if (dirname(e.path) === dirname(path)) void publishDiagnostics(e);
      continue;
    }
    const owners = store.ownersOf(path).filter((o) => o.path !== path);
    for (const owner of owners) {
      if (await isModel(owner.path)) { await store.touch(owner.path); continue; }
      // A folder whose config or weights went is a model no more; model files it held are models of their own again.
      // They are listed before the folder goes: a status between the two would report a quiescent workspace without either.
      const parts: string[] = [];
      for (const f of owner.files) if (f !== path && await isModelFile(f)) parts.push(f);
      for (const f of parts) await store.touch(f);
      store.remove(owner.path);
    }
    // A file that makes its folder a model (config.json, model.safetensors) concerns the folder, which is listed in its place.
    const folder = searchedRoot(roots, path) && await folderOfPart(path);
    if (folder && !store.entries.has(folder)) await store.touch(folder);
    if (change.type === FileChangeType.Deleted || owners.length || folder) store.remove(path);
    else if (searchedRoot(roots, path) && await isModelFile(path)) await store.touch(path);
    else store.remove(path);
  }
});

const docSites = (uri: string) => {
  const doc = documents.get(uri);
  return doc ? sitesFor(doc, store) : [];
};

connection.onHover((p) => hover(docSites(p.textDocument.uri), p.position));
connection.onCodeLens((p) => codeLenses(docSites(p.textDocument.uri), p.textDocument.uri));
connection.onCodeAction((p) => codeActions(docSites(p.textDocument.uri), p));

documents.onDidChangeContent(({ document }) => {
  const m = modelPathOf(document.uri);
  const entry = m && store.entries.get(m.path);
  if (entry) void publishDiagnostics(entry);
});
// A model opened from outside the workspace folders (or its outline) gets analysed too.
documents.onDidOpen(async ({ document }) => {
  const m = modelPathOf(document.uri);
  if (m && !store.entries.has(m.path) && await isModelFile(m.path)) await store.touch(m.path);
});
documents.onDidClose(({ document }) => {
  if (modelPathOf(document.uri)?.outline) void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
});

connection.onRequest(modelsRequest, (): ModelSummary[] => [...store.entries.values()].map((e) => ({
  uri: fileUri(e.path), format: e.format ?? e.analysis?.format, fileBytes: e.fileBytes, state: e.state, message: e.message,
  totalParams: e.analysis?.totalParams, removable: e.analysis && removableShare(e.analysis), energy: settings.energy,
  fromCache: e.fromCache,
})));

/** A model's path from a request's uri, adding a model (file or folder) outside the workspace folders on demand. */
async function modelPath(uri: string): Promise<string> {
  const path = modelPathOf(uri)?.path;
  if (!path) throw new ResponseError(1, `${uri}: not a file`);
  if (!store.entries.has(path) && await isModel(path)) await store.touch(path);
  return path;
}

const asResponseError = (e: unknown): ResponseError => new ResponseError(1, (e as Error).message ?? String(e));

connection.onRequest(analysisRequest, async ({ uri }) => {
  try {
    return await store.analysis(await modelPath(uri));
  } catch (e) { throw asResponseError(e); }
});

connection.onRequest(outlineRequest, async ({ uri }) => {
  const path = modelPathOf(uri)?.path;
  if (!path) throw new ResponseError(1, `${uri}: not a file`);
  try {
    const model = await openModel(path);
    try { return { text: renderOutline(model) }; } finally { await model.close(); }
  } catch (e) { throw asResponseError(e); }
});

connection.onShutdown(async () => { await (await engine)?.engine.close(); });

// A bug in one request must not take every other file's hints down with it.
process.on('uncaughtException', (e) => connection.console.error(`reducible: ${e.stack ?? e.message}`));
process.on('unhandledRejection', (e) => connection.console.error(`reducible: ${(e as Error)?.stack ?? String(e)}`));

documents.listen(connection);
connection.listen();
