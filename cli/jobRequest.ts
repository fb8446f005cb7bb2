// A compression job however it is asked for — the flags of the CLI contract, or a JSON
// CompressRequest (`reducible compress --job`, shared/jobProtocol.ts) — becomes one checked
// CompressRequest. Both go through the same rules; a failure names the flag, or the request's
// field, and is an InputError ('bad-input').
import { resolve } from 'node:path';
import type { Analysis, LayerAnalysis } from '../core/analysis.js';
import { readPlanJson } from '../core/compress/plan.js';
import { ENGINE_CHOICES } from '../core/engines/select.js';
import { InputError } from '../core/types.js';
import { ALLOCATIONS, METHODS, STORAGE_DTYPES, type CompressGoal, type CompressRequest } from '../shared/jobProtocol.js';

type Field = keyof CompressRequest | 'ratio' | 'energy' | 'ranks';

/** What a rule calls an option: its flag, or its place in the request. */
type Naming = (field: Field) => string;
const FLAG: Naming = (f) => (f === 'out' ? '-o' : `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
const FIELD: Naming = (f) => (f === 'ratio' || f === 'energy' || f === 'ranks' ? `goal.${f}` : f);

const GOALS = ['ratio', 'energy', 'ranks'] as const;
const KEYS: readonly (keyof CompressRequest)[] = [
  'model', 'goal', 'dtype', 'method', 'allocation', 'calibration', 'finetune', 'engine', 'python', 'torchModel', 'out', 'force', 'allowDeepCuts', 'analysis',
];

const shown = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? String(v));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks every option of a request, whichever way it came; `file` is where it came from (a job file), if anywhere. */
function checkOptions(r: Record<string, unknown>, name: Naming, file?: string): CompressRequest {
  const fail = (message: string): never => { throw new InputError(file, message); };
  const member = <T extends string>(field: Field, list: readonly T[]): T | undefined => {
    const v = r[field];
    if (v !== undefined && !list.includes(v as T)) fail(`${name(field)} must be one of ${list.join(', ')}, got ${shown(v)}`);
    return v as T | undefined;
  };
  const text = (field: Field): string | undefined => {
    const v = r[field];
    if (v !== undefined && (typeof v !== 'string' || !v)) fail(`${name(field)} must be a non-empty string, got ${shown(v)}`);
    return v as string | undefined;
  };
  const model = text('model') ?? fail(`${name('model')} is missing`);
  const goal = checkGoal(r.goal, name, fail);
  const finetune = r.finetune;
  if (finetune !== undefined && (typeof finetune !== 'number' || !Number.isFinite(finetune) || finetune < 0 || finetune > 1e7)) {
    fail(`${name('finetune')} must be a number in [0, 10000000], got ${shown(finetune)}`);
  }
  if (finetune !== undefined && !Number.isInteger(finetune)) fail(`${name('finetune')} takes a whole number of steps`);
  const torchModel = text('torchModel');
  // The file itself is checked where it is imported (python/torch_runner.py), naming it.
  if (torchModel !== undefined && !/^.+\.py:[A-Za-z_]\w*$/.test(torchModel)) fail(`${name('torchModel')} must be file.py:factory (a function returning the nn.Module), got ${torchModel}`);
  for (const f of ['force', 'allowDeepCuts'] as const) {
    if (r[f] !== undefined && typeof r[f] !== 'boolean') fail(`${name(f)} must be true or false, got ${shown(r[f])}`);
  }
  const request: CompressRequest = {
    model, goal,
    dtype: member('dtype', STORAGE_DTYPES),
    method: member('method', METHODS),
    allocation: member('allocation', ALLOCATIONS),
    calibration: text('calibration'),
    finetune: finetune as number | undefined,
    engine: member('engine', ENGINE_CHOICES),
    python: text('python'),
    torchModel,
    out: text('out'),
    force: r.force as boolean | undefined,
    allowDeepCuts: r.allowDeepCuts as boolean | undefined,
    analysis: r.analysis === undefined ? undefined : checkAnalysis(r.analysis, model, fail),
  };
  // Absent options stay absent: the request is the same object whichever way it came.
  for (const k of KEYS) if (request[k] === undefined) delete request[k];
  return request;
}

function checkGoal(goal: unknown, name: Naming, fail: (message: string) => never): CompressGoal {
  const given = isObject(goal) ? GOALS.filter((k) => goal[k] !== undefined) : [];
  if (!isObject(goal) || given.length !== 1 || Object.keys(goal).length !== 1) fail(`give exactly one of ${GOALS.map(name).join(', ')}`);
  const g = goal as Record<string, unknown>;
  const fraction = (field: 'ratio' | 'energy'): number => {
    const v = g[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 1) fail(`${name(field)} must be a number in (0, 1], got ${shown(v)}`);
    return v as number;
  };
  if (given[0] === 'ratio') return { ratio: fraction('ratio') };
  if (given[0] === 'energy') return { energy: fraction('energy') };
  // Each rank is checked against the model by the job (core/compress/plan.ts), as a --ranks file's are.
  if (!isObject(g.ranks)) fail(`${name('ranks')} must be {"<layer>": rank, ...}, got ${shown(g.ranks)}`);
  return { ranks: g.ranks as Record<string, number> };
}

/**
 * An analysis handed in with the request: of this model (its path), with every layer's
 * spectrum complete — what the job's planning reads. Other fields pass through unread.
 */
function checkAnalysis(a: unknown, model: string, fail: (message: string) => never): Analysis {
  const bad = (what: string): never => fail(`analysis: ${what}`);
  if (!isObject(a) || !Array.isArray(a.layers)) return bad('must be an analysis ({"path", "totalParams", "layers": [...]}, as `reducible analyze --json` prints)');
  if (typeof a.path !== 'string' || resolve(a.path) !== resolve(model)) bad(`is of ${shown(a.path)}, not of the model ${model}`);
  if (typeof a.totalParams !== 'number' || !(a.totalParams >= 0)) bad(`totalParams must be a number, got ${shown(a.totalParams)}`);
  if (a.sharedParams !== undefined && !(typeof a.sharedParams === 'number' && a.sharedParams >= 0 && a.sharedParams <= (a.totalParams as number))) {
    bad(`sharedParams must be a number from 0 to totalParams, got ${shown(a.sharedParams)}`);
  }
  const names = new Set<string>();
  for (const l of a.layers as unknown[]) {
    const layer = l as Partial<LayerAnalysis>;
    const label = isObject(l) && typeof l.name === 'string' ? `layer "${l.name}"` : 'a layer';
    if (!isObject(l) || typeof layer.name !== 'string' || names.has(layer.name)) bad(`${label} has no name of its own`);
    names.add(layer.name!);
    const { rows, cols, singularValues: sv } = layer;
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows! < 1 || cols! < 1) bad(`${label} has no matrix shape (rows, cols)`);
    if (typeof layer.params !== 'number' || typeof layer.factorisable !== 'boolean') bad(`${label} has no params or factorisable`);
    if (!Array.isArray(sv) || sv.length !== Math.min(rows!, cols!) || !sv.every((s) => typeof s === 'number' && Number.isFinite(s) && s >= 0)) {
      bad(`${label} must have all min(rows, cols) = ${Math.min(rows!, cols!)} singular values`);
    }
  }
  return a as unknown as Analysis;
}

/** A `--job` request's text: JSON of a CompressRequest. `file`: the job file, absent for stdin. */
export function parseCompressRequest(text: string, file?: string): CompressRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0];
    throw new InputError(file, file ? `not a JSON compress request (${reason})` : `the compress request on stdin is not JSON (${reason})`);
  }
  return checkCompressRequest(value, file);
}

/** A parsed CompressRequest, checked: unknown keys are refused, so a misspelt option never silently does nothing. */
export function checkCompressRequest(value: unknown, file?: string): CompressRequest {
  if (!isObject(value)) throw new InputError(file, `a compress request must be a JSON object, got ${shown(value)}`);
  const unknown = Object.keys(value).filter((k) => !(KEYS as readonly string[]).includes(k));
  if (unknown.length) throw new InputError(file, `unknown request field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${KEYS.join(', ')})`);
  return checkOptions(value, FIELD, file);
}

/** Flags as JSON would give them: numbers as numbers (a flag that is not one stays text, for the message). */
const numeric = (v: string | boolean | undefined): unknown => (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);

/**
 * The request the flags of `reducible compress <model> …` make. A `--ranks` file is read
 * here, once (it may be a pipe, as `<(…)` gives); its `dtype` applies unless `--dtype` is given.
 */
export async function requestFromFlags(flags: Record<string, string | boolean>, positional: string[]): Promise<CompressRequest> {
  if (positional.length !== 1) throw new InputError(undefined, 'compress needs exactly one model path');
  const given = GOALS.filter((k) => flags[k] !== undefined);
  if (given.length !== 1) throw new InputError(undefined, `give exactly one of ${GOALS.map(FLAG).join(', ')}`);
  let goal: unknown = { [given[0]]: numeric(flags[given[0]]) };
  let planDtype: unknown;
  if (given[0] === 'ranks') {
    const plan = await readPlanJson(String(flags.ranks));
    goal = { ranks: plan.layers };
    planDtype = plan.dtype;
  }
  return checkOptions({
    model: positional[0], goal,
    // A plan exported by the panel carries the precision chosen there; --dtype still wins.
    dtype: flags.dtype ?? planDtype, method: flags.method, allocation: flags.allocation, calibration: flags.calibration,
    finetune: numeric(flags.finetune), engine: flags.engine, python: flags.python, torchModel: flags['torch-model'], out: flags.out,
    force: flags.force === true ? true : undefined,
    allowDeepCuts: flags['allow-deep-cuts'] === true ? true : undefined,
  }, FLAG);
}
