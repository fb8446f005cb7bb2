// What a model format is to the rest of Reducible: one value per format, listed once in
// registry.ts (the way Netron registers one module per format). Everything that depends on the
// format — which reader opens a path, which writer writes the result, which runtime runs it,
// which data-aware steps it supports — is asked of this value, never decided by comparing
// format names elsewhere.
import type { Tensor } from '../eval/tensor.js';
import type { ModelRunner, RunnerSite } from '../runners/runner.js';
import type { FactorSource, OutputSink, WriteOptions } from '../compress/types.js';
import type { Capabilities, Model, ModelFormat, OutputOverhead } from '../types.js';
import type { StoredModel } from './storedModel.js';

/** A model loaded in its format's stock runtime, run as often as needed until disposed. */
export interface LoadedModel {
  /** The first input's shape, unknown dimensions null. */
  readonly inputShape: (number | null)[];
  /**
   * Feeds `x` in chunks of the model's fixed batch size where it has one (tensor.ts's fixedBatch);
   * returns every output, in the model's order: evaluate reads the first (labels score it), the
   * data-aware steps judge candidates on all of them (fidelity.ts's outputsFidelity).
   */
  run(x: Tensor): Promise<Tensor[]>;
  dispose(): Promise<void>;
}

/** The format's stock runtime: evaluate runs the original and the written output; written-variant runners run candidates. */
export interface Runtime {
  /** `bytes`: the model as written in memory (one file, named `path` in messages), where `inMemory` says the runtime takes it. */
  load(path: string, bytes?: Uint8Array): Promise<LoadedModel>;
  readonly inMemory?: boolean;
}

export interface FormatModule<M extends StoredModel<unknown> = StoredModel<unknown>> {
  readonly id: ModelFormat;
  /** For messages, before "model(s)": "ONNX", "TF.js layers" (formats sharing a title are listed once). */
  readonly title: string;
  /** Path endings this format claims, lower case (`.onnx`, `.safetensors.index.json`). */
  readonly extensions: readonly string[];
  /**
   * A format whose model is a folder (Hugging Face), not a file: of a folder's file names, those that
   * make it one of this format's models (its config and weights), or undefined when they do not. The
   * language server lists such a folder as one model, and these files — with the shards of a shard
   * index among them — as its parts rather than as models of their own.
   */
  folderParts?(names: readonly string[]): string[] | undefined;
  /** Content check where an ending is shared (`.json`, `.bin`); absent: the ending decides. */
  sniff?(path: string): Promise<boolean>;
  read(path: string): Promise<M>;
  /** Absent: the format is analysed but not compressed. */
  write?(model: M, factors: FactorSource, out: string, sink: OutputSink, opts: WriteOptions): Promise<void>;
  /**
   * The output's bytes besides its tensors' values (report.ts's predictBytes, the panel's size
   * bar). Absent: what the original holds besides its tensors, unchanged, and nothing per layer.
   */
  outputOverhead?(model: M): OutputOverhead;
  /** Ending of the compressed output where it differs from the input's (PyTorch checkpoints are written as safetensors). */
  readonly outputExtension?: string;
  readonly runtime?: Runtime;
  /** Runs the open model for the data-aware steps (capabilities says which). */
  runner?(model: M, site: RunnerSite): ModelRunner;
  /** The runner writes and runs a variant of the model per candidate (runners/written.ts): each probe costs a write. */
  readonly runsWritten?: boolean;
  readonly capabilities: Capabilities;
  /**
   * What it can do once the user names the module that runs it (`--torch-model`; in the IDE a
   * module chosen for the model): its runner runs that module. Absent: nothing more.
   */
  readonly withModule?: Capabilities;
}

/** Bytes of `model`'s files that are not its tensors' stored values: headers, graph, JSON, container structure. */
export function storedOverhead(model: Model): number {
  return model.fileBytes - model.tensors.reduce((s, t) => s + t.storedBytes, 0);
}

/** What a format without a runtime or a runner can do: analyse and compress with plain SVD. */
export const WEIGHTS_ONLY: Capabilities = { compress: true, evaluate: false, whiten: false, sensitivity: false, refine: false, finetune: false, relayout: false };

/** A state dict run by the user's own module in the PyTorch worker (runners/torch.ts): every data-aware step. */
export const WITH_TORCH_MODULE: Capabilities = { ...WEIGHTS_ONLY, evaluate: true, whiten: true, sensitivity: true, refine: true, finetune: true };

/** The capabilities of `format` for a model whose module is known (`module`) or not. */
export function capabilitiesOf(format: Pick<FormatModule, 'capabilities' | 'withModule'>, module: boolean): Capabilities {
  return module && format.withModule ? format.withModule : format.capabilities;
}
