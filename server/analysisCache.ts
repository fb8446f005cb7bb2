// Analyses by content hash, in memory and (when the client gives a storage folder) on disk,
// so reopening a workspace shows every model at once. A stat index (size, mtime per file)
// spares rehashing unchanged files on reopen.
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Analysis } from '../core/analysis.js';
import { contentHash } from './contentHash.js';

/**
 * Bump when the stored Analysis shape changes, so old entries are ignored, not misread.
 * 2: graph models' repeated tensors kept once (`sharedParams`, each shared weight listed once).
 */
const CACHE_VERSION = 2;

interface StatIndex { [mainFile: string]: { stamp: string; hash: string } }

export class AnalysisCache {
  private readonly memory = new Map<string, Analysis>();
  private index: StatIndex = {};
  private readonly dir?: string;

  private constructor(storagePath?: string) {
    this.dir = storagePath ? join(storagePath, `analyses-v${CACHE_VERSION}`) : undefined;
  }

  static async open(storagePath?: string): Promise<AnalysisCache> {
    const cache = new AnalysisCache(storagePath);
    if (cache.dir) {
      await mkdir(cache.dir, { recursive: true });
      cache.index = await readJson<StatIndex>(join(cache.dir, 'stat-index.json')) ?? {};
    }
    return cache;
  }

  /** The content hash of a model's files, from the stat index when none changed. */
  async hashOf(files: string[]): Promise<string> {
    const stamps = await Promise.all(files.map(async (f) => {
      const s = await stat(f);
      return `${f}|${s.size}|${s.mtimeMs}|${s.ino}`;
    }));
    const stamp = stamps.join('\n');
    const known = this.index[files[0]];
    if (known?.stamp === stamp) return known.hash;
    const hash = await contentHash(files);
    this.index[files[0]] = { stamp, hash };
    await this.persist('stat-index.json', this.index);
    return hash;
  }

  async get(hash: string): Promise<Analysis | undefined> {
    const hit = this.memory.get(hash);
    if (hit || !this.dir) return hit;
    const stored = await readJson<Analysis>(join(this.dir, `${hash}.json`));
    if (stored) this.memory.set(hash, stored);
    return stored;
  }

  async put(hash: string, analysis: Analysis): Promise<void> {
    this.memory.set(hash, analysis);
    await this.persist(`${hash}.json`, analysis);
  }

  private async persist(name: string, value: unknown): Promise<void> {
    if (!this.dir) return;
    // Write then rename: a crash never leaves a half-written entry to be read back.
    const tmp = join(this.dir, `.${name}.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(value));
    await rename(tmp, join(this.dir, name));
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
