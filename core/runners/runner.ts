// The seam between the data-aware steps of a compression (whitening, sensitivity allocation,
// the plan's refinement, the whitened/plain guard, fine-tuning: written once, in compress/)
// and the runtimes that run an open model (one implementation each: TF.js in memory for
// TF.js layers and Keras models, tfjs.ts; written variants in the format's stock runtime for
// ONNX and TF.js graph models, written.ts). Every argument and result is plain data (tensors,
// factors, numbers), so a runner can live across a process boundary (the PyTorch worker).
import type { Fidelity } from '../compress/fidelity.js';
import type { FinetuneOptions, FinetuneResult } from '../compress/distil.js';
import type { InputMoments } from '../compress/moments.js';
import type { FactorSource, Factorisation, StorageDType } from '../compress/types.js';
import type { Tensor } from '../eval/tensor.js';
import type { JobOptions } from '../types.js';

/**
 * Where a job writes (runners that run written variants write them beside it, as the job
 * would), and the module that runs a checkpoint which is weights only (`--torch-model
 * file.py:factory`, run by `python`: runners/torch.ts).
 */
export interface RunnerSite { out: string; dtype?: StorageDType; torchModel?: string; python?: string; finetuneIn?: FinetuneRuntime }

/**
 * Where a format that can train either way fine-tunes (ONNX: formats/onnx/inTorch.ts): PyTorch
 * where it starts and runs the model, else TF.js (`auto`, the default); only PyTorch (`--engine
 * torch`); only TF.js (`--engine embedded`).
 */
export type FinetuneRuntime = 'auto' | 'pytorch' | 'tfjs';

/** One layer approximated alone at its probe rank, and the share of its spectrum energy that discards. */
export interface FactorProbe { factors: Factorisation; discarded: number }

/** Scores candidate factorisations against the original model on the inputs it was opened with. */
export interface Judge {
  /** The outputs are class scores: fidelity.ts's rule then weighs top-1 agreement first. */
  readonly classifier: boolean;
  score(factors: FactorSource): Promise<Fidelity>;
}

export interface ModelRunner {
  /** Second moments of the inputs of the layers this runtime can observe (whitening); the others are absent. */
  inputMoments(x: Tensor, opts: JobOptions): Promise<Map<string, InputMoments>>;
  /** Runs `fn` with a judge on inputs `x`; undefined where `x` cannot be run (fewer inputs than the model's fixed batch). */
  judge<T>(x: Tensor, fn: (judge: Judge) => Promise<T>): Promise<T | undefined>;
  /** Each probe's sensitivityGain (sensitivity.ts) by layer name, measured on `x`. */
  sensitivity(probes: FactorProbe[], x: Tensor, opts: JobOptions): Promise<Map<string, number>>;
  /**
   * Distils `factors` (replaced in place where training helped) toward the original's outputs on
   * `x`; trained weights of layers left dense go into `retrained` under their stored names.
   */
  finetune?(factors: Map<string, Factorisation>, x: Tensor, o: FinetuneOptions, retrained: Map<string, Float32Array>): Promise<FinetuneResult>;
  /**
   * Refuses, before any work, a model the job's steps cannot run: opens what runs it now (a
   * module, a library), and where fine-tuning is planned, checks what it needs (an operator it
   * would otherwise refuse only when reached).
   */
  ready?(planned: { finetune: boolean }): Promise<void>;
  dispose(): Promise<void>;
}
