// A compression job as data: every option checked against what the model's format can do
// (its capabilities, formats/format.ts), every default filled in, and the stages the job will
// run with the share of the progress bar each takes. Pure: no file is read, nothing runs, so
// every rule here is unit-tested in process.
import { isAbsolute } from 'node:path';
import type { Capabilities, JobOptions, ModelFormat } from '../types.js';
import { InputError, stageOf } from '../types.js';
import type { Goal } from './plan.js';
import { distinctParams } from '../ranks/ranks.js';
import type { Allocation, Method, StorageDType } from './types.js';

/** What the user asked for (the CLI's flags, the IDE's CompressRequest). */
export interface JobRequest {
  goal: Goal;
  method?: Method;
  allocation?: Allocation;
  dtype?: StorageDType;
  /** Calibration inputs were given (their count: nothing here reads them). */
  calibration?: number;
  finetune?: number;
  /** Absolute; absent: formats/registry.ts's defaultOutput. */
  out: string;
}

/** The facts about the open model the rules need. */
export interface ModelFacts {
  path: string;
  format: ModelFormat;
  files: readonly string[];
  fileBytes: number;
  /** Layers a factorisation can make smaller (factorisable, break-even rank ≥ 1): none, and there is nothing to compress. */
  factorisable: number;
  /** All the model's parameters, and those of tensors it repeats, which any output keeps once (types.ts's Model). */
  totalParams: number;
  sharedParams?: number;
  capabilities: Capabilities;
  /** What naming the module that runs the model (`--torch-model`) would add, where it is not named yet. */
  withModule?: Capabilities;
  /** Its runner writes and runs a variant of the model per candidate (formats/format.ts). */
  runsWritten: boolean;
  /** The formats that have a capability, for messages ("TF.js layers, Keras and ONNX models"). */
  formatsWith(capability: keyof Capabilities): string;
  /**
   * The ending of what the format writes for this model (`.safetensors` for a PyTorch
   * checkpoint, `.safetensors.index.json` for a sharded index): an output path without it is
   * refused, so no file's name belies its content. Absent: any output path.
   */
  outputEnding?: string;
}

export type StageName = 'analyse' | 'sensitivity' | 'refine' | 'factorise' | 'factorise-plain' | 'finetune';

export interface Stage { name: StageName; label: string; weight: number }

export interface JobPlan {
  goal: Goal;
  method: Method;
  /** Only a --ratio budget is allocated across layers; other goals fix each layer's rank alone. */
  allocation?: Allocation;
  dtype?: StorageDType;
  out: string;
  /** Steps that run the model through its format's runner. */
  runs: { sensitivity: boolean; refine: boolean; guard: boolean; finetune?: number };
  stages: Stage[];
  /** The goal is met with every layer dense: no layer is measured, cut or trained, whatever the method. */
  dense?: true;
}

/**
 * Probing sensitivity by writing variants writes the whole model once per factorisable layer:
 * the default only where that stays under PROBE_BYTES (a large ONNX model keeps spectrum
 * allocation unless --allocation sensitivity asks).
 */
const PROBE_BYTES = 2 ** 31;

/** A runner in memory probes without writing anything: only one that runs written variants pays per probe. */
const probesCheaply = (m: ModelFacts): boolean => !m.runsWritten || m.fileBytes * m.factorisable <= PROBE_BYTES;

export function resolveJob(r: JobRequest, m: ModelFacts): JobPlan {
  const caps = m.capabilities;
  const refuse = (what: string, capability: keyof Capabilities): InputError => (m.withModule?.[capability]
    ? new InputError(m.path, `${what} runs the model: name its module with --torch-model file.py:factory`)
    : new InputError(m.path, `${what} is available for ${m.formatsWith(capability)} (this is ${m.format})`, 'unsupported'));
  if (!caps.compress) throw new InputError(m.path, `compressing ${m.format} models is not supported yet (analysis is)`, 'unsupported');
  // Every format alike: a model with no layer to factorise (zero dimensions, tensors of a type
  // that is not floating point, only layers too small to gain) is refused, not copied as it is.
  if (m.factorisable === 0 && !m.sharedParams) throw new InputError(m.path, 'nothing to compress: no layer can be factorised into fewer parameters');
  if (!isAbsolute(r.out)) throw new Error(`resolveJob: output path ${r.out} is not absolute`);
  if (m.files.includes(r.out)) throw new InputError(r.out, 'output path is the input model; choose another -o');
  if (m.outputEnding && !r.out.toLowerCase().endsWith(m.outputEnding)) {
    throw new InputError(r.out, `output name does not end in ${m.outputEnding}, but a ${m.format} model is written as a ${m.outputEnding} file; choose an -o ending in ${m.outputEnding}`);
  }
  const method = r.method ?? 'svd';
  if ((method === 'whitened' || r.finetune) && !r.calibration) throw new InputError(m.path, `${method === 'whitened' ? '--method whitened' : '--finetune'} needs --calibration inputs`);
  if (method === 'whitened' && !caps.whiten) throw refuse('--method whitened', 'whiten');
  if (r.finetune && !caps.finetune) throw refuse('--finetune', 'finetune');
  if (method === 'relayout' && !caps.relayout) {
    throw new InputError(m.path, `--method relayout is written for ${m.formatsWith('relayout')} only (this is ${m.format}: its layers cannot re-lay a product out with standard operators)`, 'unsupported');
  }
  const allocation = r.goal.kind === 'ratio'
    ? r.allocation ?? (method === 'whitened' && caps.sensitivity && probesCheaply(m) ? 'sensitivity' : 'spectrum') : undefined;
  if (allocation === 'sensitivity' && !r.calibration) throw new InputError(m.path, 'sensitivity allocation needs --calibration inputs');
  if (allocation === 'sensitivity' && !caps.sensitivity) throw refuse('sensitivity allocation', 'sensitivity');
  // A --ratio the model meets with every layer dense (its repeated tensors kept once) leaves the
  // data nothing to decide: Basic Pitch at 0.5 spent 84 s measuring 32 windows to cut nothing.
  const dense = r.goal.kind === 'ratio' && distinctParams(m) <= r.goal.ratio * m.totalParams;
  const runs = dense ? { sensitivity: false, refine: false, guard: false } : {
    sensitivity: allocation === 'sensitivity',
    // Sensitivity allocation's plan is refined on calibration inputs (refine.ts).
    refine: allocation === 'sensitivity' && caps.refine,
    // --method whitened keeps plain SVD's factors where they agree better (guard.ts).
    guard: method === 'whitened',
    ...(r.finetune ? { finetune: r.finetune } : {}),
  };
  // Where sensitivity is measured, running the model is most of the job: PaddleOCR's recogniser
  // whitened at 0.5 spent 33 % of its 100 s on statistics, 38 % on probes, 25 % refining and 4 %
  // factorising; the tiny LM's split was alike.
  const stages: Stage[] = [
    { name: 'analyse', label: 'analysing: ', weight: 3 },
    ...(runs.sensitivity ? [{ name: 'sensitivity' as const, label: 'measuring sensitivity: ', weight: 3 }] : []),
    ...(runs.refine ? [{ name: 'refine' as const, label: '', weight: 3 }] : []),
    { name: 'factorise', label: '', weight: runs.sensitivity ? 1 : 6 },
    ...(runs.guard ? [{ name: 'factorise-plain' as const, label: 'plain SVD: ', weight: runs.sensitivity ? 1 : 3 }] : []),
    // Fine-tuning's time grows with its steps (up to four trainings of that many, distil.ts), so
    // its weight does too and the CLI's estimate of the time left holds for long fine-tuning:
    // on bench/finetune's MLP, 100 steps take about half as long as the rest of the job.
    ...(runs.finetune ? [{ name: 'finetune' as const, label: '', weight: 3 * Math.max(1, runs.finetune / 100) }] : []),
  ];
  return { goal: r.goal, method, allocation, dtype: r.dtype, out: r.out, runs, stages, ...(dense ? { dense } : {}) };
}

/** The job options of one stage: its progress 0…1 maps onto its share of the job's, after the stages before it (the last 1 % is the write). */
export function stageOptions(plan: JobPlan, o: JobOptions, name: StageName): JobOptions {
  const total = plan.stages.reduce((s, x) => s + x.weight, 0) / 0.99;
  let from = 0;
  for (const s of plan.stages) {
    if (s.name === name) return stageOf(o, from / total, s.weight / total, s.label);
    from += s.weight;
  }
  throw new Error(`the job has no ${name} stage`);
}
