// The plan a user saved for a model: the `--ranks` file (`{"layers": {"dense_1": 64}}`, what
// the panel's "Export plan" writes) lying beside the model as `<model stem>.plan.json`, or
// `plan.json` for every model in that folder. The server reads it from disk whenever it
// publishes the model's diagnostics, so a saved edit shows at the next file event.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

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

/** The model's saved plan, or undefined when there is none or it cannot be read as one. */
export async function savedPlan(modelPath: string): Promise<SavedPlan | undefined> {
  for (const file of candidates(modelPath)) {
    try {
      if ((await stat(file)).size > MAX_PLAN_BYTES) continue;
      const raw = (JSON.parse(await readFile(file, 'utf8')) as { layers?: unknown }).layers;
      if (!raw || typeof raw !== 'object') continue;
      const layers = new Map(Object.entries(raw).filter((e): e is [string, number] => Number.isInteger(e[1]) && e[1] > 0));
      return { file, layers };
    } catch {
      // Absent or not JSON: try the next candidate.
    }
  }
  return undefined;
}
