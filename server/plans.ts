// The plan a user saved for a model: the `--ranks` file (`{"layers": {"dense_1": 64}}`, what
// the panel's "Export plan" writes) lying beside the model as `<model stem>.plan.json`, or
// `plan.json` for every model in that folder. Diagnostics are published on every edit of an
// open model.json, so the files are read once per folder and kept until a watch event says
// one changed.
import { basename, dirname, extname, join } from 'node:path';
import { readRegularFile } from '../core/io/byteSource.js';

export interface SavedPlan {
  /** The plan file's path. */
  file: string;
  /** Rank by layer name; entries that are not positive integers are left out. */
  layers: Map<string, number>;
}

/** A plan is a few hundred bytes per layer; anything far bigger is not one. */
const MAX_PLAN_BYTES = 4 * 2 ** 20;

export function isPlanFile(path: string): boolean {
  const name = basename(path).toLowerCase();
  return name === 'plan.json' || name.endsWith('.plan.json');
}

/** The plan files that would apply to a model, the more specific first. */
function candidates(modelPath: string): string[] {
  const stem = basename(modelPath, extname(modelPath));
  return [join(dirname(modelPath), `${stem}.plan.json`), join(dirname(modelPath), 'plan.json')];
}

/** The plan in one file, or undefined when it is absent or cannot be read as one. */
async function readPlan(file: string): Promise<SavedPlan | undefined> {
  try {
    // Regular files only, opened non-blocking: a FIFO named plan.json would otherwise hold a
    // file-system thread for ever and keep the model's diagnostics (and the server's exit) waiting.
    const raw = (JSON.parse(new TextDecoder().decode(await readRegularFile(file, MAX_PLAN_BYTES))) as { layers?: unknown }).layers;
    if (!raw || typeof raw !== 'object') return undefined;
    const layers = new Map(Object.entries(raw).filter((e): e is [string, number] => Number.isInteger(e[1]) && e[1] > 0));
    return { file, layers };
  } catch {
    return undefined;
  }
}

/**
 * Saved plans by folder. Without watch events nothing would tell a cached plan is stale, so
 * a client that sends none gets the files read afresh each time.
 */
export class SavedPlans {
  /** Folder → plan file → its reading. */
  private readonly folders = new Map<string, Map<string, Promise<SavedPlan | undefined>>>();
  constructor(private readonly watched: () => boolean) {}

  /** The model's saved plan, or undefined when there is none. */
  async of(modelPath: string): Promise<SavedPlan | undefined> {
    for (const file of candidates(modelPath)) {
      const plan = await this.read(file);
      if (plan) return plan;
    }
    return undefined;
  }

  /** A plan file changed, appeared or went: its folder's plans are read again when next needed. */
  changed(planFile: string): void {
    this.folders.delete(dirname(planFile));
  }

  private read(file: string): Promise<SavedPlan | undefined> {
    if (!this.watched()) return readPlan(file);
    let folder = this.folders.get(dirname(file));
    if (!folder) this.folders.set(dirname(file), folder = new Map());
    let plan = folder.get(file);
    if (!plan) folder.set(file, plan = readPlan(file));
    return plan;
  }
}
