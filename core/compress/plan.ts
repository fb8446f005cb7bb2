// Turning a user's goal (ratio, energy, or explicit ranks) into a rank per layer.
import { readFile } from 'node:fs/promises';
import type { Analysis, LayerAnalysis } from '../analysis.js';
import { allocate } from '../ranks/allocate.js';
import { distinctParams, paramsAtRank, rankForEnergy, breakEvenRank } from '../ranks/ranks.js';
import { InputError } from '../types.js';
import type { Plan, StorageDType } from './types.js';

export type Goal =
  | { kind: 'ratio'; ratio: number }
  | { kind: 'energy'; energy: number }
  /** `plan`: the file's contents when the caller has read them already (readPlanJson), so it is read once. */
  | { kind: 'ranks'; file: string; plan?: PlanFile };

/** `plan.json` as the panel exports it and `--ranks` reads it. */
export interface PlanFile {
  layers: Record<string, number>;
  /** Storage precision of the factors; `--dtype` overrides it, absent keeps the source's. */
  dtype?: StorageDType;
}

export const STORAGE_DTYPES: readonly StorageDType[] = ['f32', 'f16', 'int8'];

const full = (l: LayerAnalysis): number => Math.min(l.rows, l.cols);

export async function makePlan(analysis: Analysis, goal: Goal): Promise<Plan> {
  const layers = analysis.layers.filter((l) => l.factorisable);
  switch (goal.kind) {
    case 'energy':
      return new Map(layers.map((l) => {
        const k = rankForEnergy(l.singularValues, goal.energy);
        return [l.name, k <= breakEvenRank(l.rows, l.cols) ? k : full(l)];
      }));
    case 'ratio': {
      const fixed = distinctParams(analysis) - layers.reduce((s, l) => s + l.params, 0);
      const budget = goal.ratio * analysis.totalParams - fixed;
      const minimum = layers.reduce((s, l) => s + paramsAtRank(l.rows, l.cols, breakEvenRank(l.rows, l.cols) > 0 ? 1 : full(l)), 0);
      if (budget < minimum) {
        throw new InputError(analysis.path, `--ratio ${goal.ratio} is below the smallest reachable ratio ${((fixed + minimum) / analysis.totalParams).toFixed(4)}`);
      }
      const a = allocate(layers.map((l) => ({ rows: l.rows, cols: l.cols, sigma: l.singularValues, weight: l.sensitivity })), budget);
      return new Map(layers.map((l, i) => [l.name, a.ranks[i]]));
    }
    case 'ranks':
      return checkPlan(goal.file, goal.plan ?? await readPlanJson(goal.file), analysis);
  }
}

/** A `--ranks` file, checked for form; its layers are checked against the model by makePlan. */
export async function readPlanJson(file: string): Promise<PlanFile> {
  let json: PlanFile;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new InputError(file, `cannot read plan (${(e as Error).message})`);
  }
  if (!json || typeof json.layers !== 'object' || json.layers === null) throw new InputError(file, 'plan must be {"layers": {"<layer>": rank, ...}}');
  if (json.dtype !== undefined && !STORAGE_DTYPES.includes(json.dtype)) throw new InputError(file, `dtype must be ${STORAGE_DTYPES.join(', ')}, got ${JSON.stringify(json.dtype)}`);
  return json;
}

function checkPlan(file: string, json: PlanFile, analysis: Analysis): Plan {
  const byName = new Map(analysis.layers.map((l) => [l.name, l]));
  const plan: Plan = new Map();
  for (const [name, rank] of Object.entries(json.layers)) {
    const l = byName.get(name);
    if (!l) throw new InputError(file, `unknown layer "${name}" (model has ${[...byName.keys()].slice(0, 8).join(', ')}${byName.size > 8 ? ', …' : ''})`);
    if (!l.factorisable) throw new InputError(file, `layer "${name}" (${l.kind}) cannot be factorised`);
    if (!Number.isInteger(rank) || rank < 1 || rank > full(l)) throw new InputError(file, `rank ${rank} for "${name}" is outside 1..${full(l)}`);
    plan.set(name, rank);
  }
  return plan;
}

/** Serialises a plan in the `--ranks` format. */
export function planFile(plan: Plan): PlanFile {
  return { layers: Object.fromEntries(plan) };
}
