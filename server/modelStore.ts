// The workspace's models and their analyses: one queue, biggest file first, one model at
// a time (the engine already spreads a model's layers over worker threads), results cached
// by content. Every failure lands in the entry's state; nothing here throws at the server.
import { analyzeModel, type Analysis } from '../core/analysis.js';
import type { Engine } from '../core/engines/engine.js';
import { openModel } from '../core/formats/open.js';
import { CancelledError, InputError, type ModelFormat } from '../core/types.js';
import type { ModelState, ServerSettings } from '../shared/protocol.js';
import type { AnalysisCache } from './analysisCache.js';
import { modelBytes } from './discovery.js';
import { withEnergy } from './withEnergy.js';

export interface ModelEntry {
  path: string;
  /** All files of the model (model.json plus shards; a model folder's files); just `path` until it is opened. */
  files: string[];
  fileBytes: number;
  state: ModelState;
  format?: ModelFormat;
  analysis?: Analysis;
  message?: string;
  /** The analysis came from the cache rather than from the engine. */
  fromCache?: boolean;
}

export interface Round {
  done: number;
  total: number;
  current?: { path: string; fraction: number; layer: string };
}

export interface StoreListener {
  /** An entry changed state or analysis. */
  changed(entry: ModelEntry): void;
  removed(entry: ModelEntry): void;
  progress(round: Round, quiescent: boolean): void;
}

/** Why an entry has no analysis. An error's message names the file already; a skip's does not. */
function failure(entry: ModelEntry): InputError {
  if (entry.state === 'error') return new InputError(undefined, entry.message ?? `${entry.path}: cannot read this model`);
  return new InputError(entry.path, entry.state === 'skipped' ? entry.message ?? 'skipped' : 'no longer in the workspace');
}

interface Waiter { resolve(a: Analysis): void; reject(e: Error): void }

const MB = 2 ** 20;

export class ModelStore {
  readonly entries = new Map<string, ModelEntry>();
  private queue: string[] = [];
  private urgent = new Set<string>();
  private running?: { path: string; abort: AbortController };
  private readonly waiters = new Map<string, Waiter[]>();
  private round: Round = { done: 0, total: 0 };

  constructor(
    private readonly cache: AnalysisCache,
    private readonly engine: () => Promise<Engine>,
    private readonly settings: () => ServerSettings,
    private readonly listener: StoreListener,
  ) {}

  /** Makes the store hold exactly these model files; new ones are queued together, biggest first. */
  async replaceAll(paths: string[]): Promise<void> {
    const keep = new Set(paths);
    for (const path of [...this.entries.keys()]) if (!keep.has(path)) this.remove(path);
    const added = await Promise.all(paths.filter((p) => !this.entries.has(p)).map((p) => this.add(p)));
    for (const entry of added) if (entry) this.schedule(entry);
  }

  /** A model file appeared or changed: forget its analysis and queue it. */
  async touch(path: string): Promise<void> {
    const entry = await this.add(path);
    if (entry) this.schedule(entry);
  }

  private async add(path: string): Promise<ModelEntry | undefined> {
    let size: number;
    try { size = await modelBytes(path); } catch { this.remove(path); return undefined; }
    const entry: ModelEntry = { path, files: [path], fileBytes: size, state: 'pending' };
    // Too big is known from the size alone: say so at once rather than after the queue reaches it.
    this.skipIfTooBig(entry);
    this.entries.set(path, entry);
    if (this.running?.path === path) this.running.abort.abort();
    this.listener.changed(entry);
    return entry;
  }

  private schedule(entry: ModelEntry): void {
    if (entry.state === 'skipped') return;
    if (this.settings().autoRun || this.waiters.has(entry.path)) this.enqueue(entry.path);
  }

  /** True when nothing is queued or running. */
  idle(): boolean {
    return !this.running && this.queue.length === 0;
  }

  /** Stops the running analysis and queues it again, e.g. before its engine is closed. */
  async interrupt(): Promise<void> {
    if (this.running) await this.touch(this.running.path);
  }

  remove(path: string): void {
    const entry = this.entries.get(path);
    if (!entry) return;
    this.entries.delete(path);
    this.queue = this.queue.filter((p) => p !== path);
    if (this.running?.path === path) this.running.abort.abort();
    this.settle(entry);
    this.listener.removed(entry);
  }

  /** Entries that a changed file belongs to (a TF.js shard belongs to its model.json). */
  ownersOf(file: string): ModelEntry[] {
    return [...this.entries.values()].filter((e) => e.files.includes(file));
  }

  ready(): ModelEntry[] {
    return [...this.entries.values()].filter((e) => e.analysis);
  }

  /** The analysis of a model, queued ahead of the others when it is not ready yet. */
  analysis(path: string): Promise<Analysis> {
    const entry = this.entries.get(path);
    if (!entry) return Promise.reject(new InputError(path, 'not a model in this workspace'));
    if (entry.analysis) return Promise.resolve(entry.analysis);
    // A skipped file may fit a limit raised since (the settings change and this request can cross).
    const stillSkipped = entry.state === 'skipped' && entry.fileBytes > this.settings().maxFileSizeMB * MB;
    if (entry.state === 'error' || stillSkipped) return Promise.reject(failure(entry));
    return new Promise((resolve, reject) => {
      this.waiters.set(path, [...(this.waiters.get(path) ?? []), { resolve, reject }]);
      this.urgent.add(path);
      this.enqueue(path);
    });
  }

  /** New energy target: suggestions re-derived from the stored spectra, no re-analysis. */
  setEnergy(energy: number): void {
    for (const e of this.ready()) {
      e.analysis = withEnergy(e.analysis!, energy);
      this.listener.changed(e);
    }
  }

  private enqueue(path: string): void {
    if (!this.queue.includes(path)) {
      this.queue.push(path);
      this.round.total++;
    }
    void this.pump();
  }

  private next(): string | undefined {
    const urgent = this.queue.find((p) => this.urgent.has(p));
    const size = (p: string): number => this.entries.get(p)?.fileBytes ?? 0;
    const path = urgent ?? this.queue.reduce<string | undefined>((best, p) => (best === undefined || size(p) > size(best) ? p : best), undefined);
    if (path !== undefined) this.queue.splice(this.queue.indexOf(path), 1);
    return path;
  }

  private async pump(): Promise<void> {
    // Let every enqueue of the current turn land first, so the biggest file goes first.
    await null;
    if (this.running) return;
    for (let path = this.next(); path !== undefined; path = this.next()) {
      const entry = this.entries.get(path);
      if (!entry) continue;
      const abort = new AbortController();
      this.running = { path, abort };
      this.round.current = { path, fraction: 0, layer: '' };
      this.listener.progress(this.round, false);
      await this.run(entry, abort.signal);
      this.running = undefined;
      this.round.done++;
      this.round.current = undefined;
      // An entry replaced while it ran (file changed) is queued again; report only live ones.
      if (this.entries.get(path) === entry) {
        this.urgent.delete(path);
        this.settle(entry);
        this.listener.changed(entry);
      }
    }
    this.listener.progress(this.round, true);
    this.round = { done: 0, total: 0 };
  }

  private async run(entry: ModelEntry, signal: AbortSignal): Promise<void> {
    const { energy } = this.settings();
    if (this.skipIfTooBig(entry)) return;
    entry.state = 'analysing';
    try {
      const model = await openModel(entry.path);
      try {
        Object.assign(entry, { format: model.format, files: model.files, fileBytes: model.fileBytes });
        // A shard listed before its model.json was known is part of this model, not a model (a
        // folder's files are all parts: the folder is none of them).
        for (const f of model.files) if (f !== entry.path) this.remove(f);
        // A TF.js model's size includes its weight shards, known only now.
        if (this.skipIfTooBig(entry)) return;
        const hash = await this.cache.hashOf(model.files);
        let analysis = await this.cache.get(hash);
        entry.fromCache = analysis !== undefined;
        if (!analysis) {
          const progress = {
            report: (fraction: number, layer: string): void => {
              this.round.current = { path: entry.path, fraction, layer };
              this.listener.progress(this.round, false);
            },
          };
          analysis = await analyzeModel(model, await this.engine(), energy, { signal, progress });
          await this.cache.put(hash, analysis);
        }
        entry.analysis = withEnergy({ ...analysis, path: entry.path }, this.settings().energy);
        entry.state = 'ready';
      } finally {
        await model.close();
      }
    } catch (e) {
      if (e instanceof CancelledError) return;
      entry.state = 'error';
      entry.message = e instanceof InputError ? e.message : `${entry.path}: ${(e as Error).message ?? String(e)}`;
    }
  }

  /** Marks an entry over `reducible.maxFileSizeMB` as skipped; true when it is. */
  private skipIfTooBig(entry: ModelEntry): boolean {
    const limitMB = this.settings().maxFileSizeMB;
    if (entry.fileBytes <= limitMB * MB) return false;
    entry.state = 'skipped';
    entry.message = `skipped: larger than ${limitMB} MB (reducible.maxFileSizeMB)`;
    return true;
  }

  /** Answers everyone waiting for this entry, with its analysis or its failure. */
  private settle(entry: ModelEntry): void {
    const waiting = this.waiters.get(entry.path);
    if (!waiting) return;
    this.waiters.delete(entry.path);
    for (const w of waiting) {
      if (entry.analysis && this.entries.get(entry.path) === entry) w.resolve(entry.analysis);
      else w.reject(failure(entry));
    }
  }
}
