// The IDE ↔ CLI job contract. The client (client/compressJob.ts) runs
// `reducible compress --job -` and writes one CompressRequest (JSON) to its stdin; the CLI
// (cli/job.ts) answers on stdout with JobEvents, one JSON object per line: progress events,
// then exactly one `done` or `error`. The client never reads the CLI's human text.
// Also the one list of the compression methods, factor precisions and allocations that the
// CLI, the client and the webview offer. Types and constants only: the webview bundles this
// module, so it imports nothing at run time (node or DOM).
import type { Analysis } from '../core/analysis.js';
import type { CompressReport } from '../core/compress/report.js';
import type { Allocation, Method, StorageDType } from '../core/compress/types.js';
import type { InputErrorCode } from '../core/types.js';

export type { Allocation, Method, StorageDType, CompressReport };

/**
 * Returns `list` as it is; compiles only when it names every member of `T`, so a member
 * core adds to one of its unions cannot be left out of the lists below.
 */
const every = <T>() => <const L extends readonly T[]>(list: L & ([Exclude<T, L[number]>] extends [never] ? unknown : { missing: Exclude<T, L[number]> })): L => list;

/** `--method`: plain SVD, whitened SVD (needs calibration inputs), the DeepThin re-layout (ONNX). */
export const METHODS = every<Method>()(['svd', 'whitened', 'relayout']);
/** `--dtype`: the factors' storage precision (absent: each tensor keeps its own). */
export const STORAGE_DTYPES = every<StorageDType>()(['f32', 'f16', 'int8']);
/** `--allocation` (with a ratio goal): spread the budget by spectra alone or weighted by measured sensitivity. */
export const ALLOCATIONS = every<Allocation>()(['spectrum', 'sensitivity']);

/**
 * How the factors are made, as the panel and the compress command offer it: a job method,
 * or whitened SVD followed by fine-tuning (`--finetune`).
 */
export const PANEL_METHODS = ['svd', 'whitened', 'whitened+finetune', 'relayout'] as const;
export type CompressMethod = (typeof PANEL_METHODS)[number];

/** The job each panel method runs; `finetune`: fine-tune the factors after factorising. */
export const PANEL_METHOD_JOBS: Record<CompressMethod, { method: Method; finetune?: true }> = {
  svd: { method: 'svd' },
  whitened: { method: 'whitened' },
  'whitened+finetune': { method: 'whitened', finetune: true },
  relayout: { method: 'relayout' },
};

/** What to keep: a share of all parameters, a share of each layer's energy, or explicit ranks by layer name. */
export type CompressGoal =
  | { ratio: number }
  | { energy: number }
  | { ranks: Record<string, number> };

/**
 * One compression job, as `reducible compress --job` reads it: the flags of the CLI contract
 * as one JSON object. Relative paths are taken from the CLI's working folder. Unknown keys
 * are refused (code 'bad-input'), so a misspelt option never silently does nothing.
 */
export interface CompressRequest {
  /** The model's (main) file, or its folder (Hugging Face), as `reducible compress <model>`. */
  model: string;
  /** `--ratio R` (0 < R ≤ 1), `--energy E` (0 < E ≤ 1) or `--ranks` (here: the plan's layers inline). */
  goal: CompressGoal;
  /** `--dtype`; absent: every tensor keeps its stored precision. */
  dtype?: StorageDType;
  /** `--method`; absent: 'svd'. */
  method?: Method;
  /** `--allocation`; absent: the job's default. */
  allocation?: Allocation;
  /** `--calibration x.npy|x.npz[:key]`: unlabeled inputs for whitening, sensitivity and fine-tuning. */
  calibration?: string;
  /** `--finetune STEPS`: a whole number of steps. */
  finetune?: number;
  /** `--engine`: one of core/engines/select.ts's ENGINE_CHOICES; absent: 'auto'. */
  engine?: string;
  /** `--python`: the interpreter of the torch engine and of the PyTorch runner. */
  python?: string;
  /**
   * `--torch-model file.py:factory`: the function returning the nn.Module that runs a PyTorch
   * or safetensors checkpoint (its state dict is loaded into it, strict), for the data-aware
   * steps. This runs the user's code: only with this explicit option (in the IDE, a trusted workspace).
   */
  torchModel?: string;
  /** `-o`; absent: `<name>.reduced.<ext>` beside the model. */
  out?: string;
  /** `--force`: replace an existing output. */
  force?: boolean;
  /** `--allow-deep-cuts`: write a data-free plan that cuts layers deeply (refused as 'deep-cut' otherwise). */
  allowDeepCuts?: boolean;
  /**
   * The model's plain spectra, already computed (the language server's cached analysis of this
   * file, `reducible/analysis`): the job plans on them instead of computing them again, where
   * it needs plain spectra (core/compress/job.ts decides; a whitened or re-laid-out spectrum is
   * always measured). It must be of the file as it is now; its `path` must be the model's.
   */
  analysis?: Analysis;
}

/**
 * Stable reasons a job fails, for callers that act on them: 'output-exists' (ask, then send
 * the request again with `force`), 'deep-cut' (a data-free plan cuts layers deeply: ask, then
 * send it again with `allowDeepCuts`), 'unsupported' (the format cannot do what was asked),
 * 'bad-input' (the request, a file it names or the model is wrong), 'cancelled' (SIGINT or
 * SIGTERM), 'runtime' (anything else: a bug, a crashed engine, a full disk).
 */
export type ErrorCode = InputErrorCode | 'cancelled' | 'runtime';

export const ERROR_CODES = every<ErrorCode>()(['output-exists', 'deep-cut', 'unsupported', 'bad-input', 'cancelled', 'runtime']);

/** The CLI's exit code for each failure (contract: 1 runtime failure, 2 bad usage or input; a cancelled job did not finish: 1). */
export const EXIT_CODES: Record<ErrorCode, 1 | 2> = {
  'output-exists': 2, 'deep-cut': 2, unsupported: 2, 'bad-input': 2, cancelled: 1, runtime: 1,
};

/** One line of `reducible compress --job`'s stdout. */
export type JobEvent =
  /** Fraction done in [0, 1], never decreasing, and the current step. */
  | { type: 'progress'; fraction: number; label: string }
  /** The job wrote its output: the report it also wrote to `<out>.report.json`. Exit code 0. */
  | { type: 'done'; report: CompressReport }
  /** The job failed and left nothing behind; `message` is the CLI's one line (it names the file); `file`: the file or request field at fault. */
  | { type: 'error'; code: ErrorCode; message: string; file?: string };

export type JobErrorEvent = Extract<JobEvent, { type: 'error' }>;
