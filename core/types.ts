// The engine's data model: what a reader produces and what analysis consumes.
// Nothing here imports VS Code; the same types cross the CLI/LSP boundaries as JSON.

export type ModelFormat = 'tfjs-layers' | 'tfjs-graph' | 'keras-h5' | 'keras' | 'onnx' | 'safetensors' | 'pytorch' | 'huggingface';

export type LayerKind =
  | 'dense' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv-transpose' | 'depthwise'
  | 'matmul' | 'gemm' | 'linear' | 'embedding' | 'lstm' | 'gru';

/**
 * What Reducible can do with a model of a format (its format module's table, core/formats/):
 * the one place the CLI, the server and the panel ask. Crosses the LSP boundary in Analysis.
 */
export interface Capabilities {
  /** A writer exists: the model can be compressed (else it is only analysed). */
  compress: boolean;
  /** A stock runtime runs it here, so `evaluate` compares outputs (else weights). */
  evaluate: boolean;
  /** `--method whitened`: input statistics collected by running the model. */
  whiten: boolean;
  /** `--allocation sensitivity`: each layer's effect on the output measured by running the model. */
  sensitivity: boolean;
  /** A --ratio plan's ranks refined by scoring candidate plans on calibration inputs. */
  refine: boolean;
  /** `--finetune`: the factors trained toward the original's outputs. */
  finetune: boolean;
  /** `--method relayout`: the format can express a re-laid-out product with standard operators. */
  relayout: boolean;
}

export type DType = 'float64' | 'float32' | 'float16' | 'bfloat16' | 'int32' | 'int64' | 'int8' | 'uint8' | 'uint16';

/** A weight as stored: how to find its bytes and decode them, without reading them yet. */
export interface TensorRef {
  name: string;
  shape: number[];
  dtype: DType;
  /** Bytes the tensor occupies in the file(s). */
  storedBytes: number;
}

/**
 * One factorisable (or reported) layer. `matrix` is the 2-D view whose singular values we
 * compute: Dense in×out, convs prod(kernel)·cin × cout, Linear out×in, Gemm with transB undone.
 */
export interface Layer {
  name: string;
  kind: LayerKind;
  /** Shape of the weight tensor as stored. */
  shape: number[];
  matrix: { rows: number; cols: number };
  /** Parameters of the weight tensor (bias excluded: it is kept as is). */
  params: number;
  dtype: DType;
  weight: string;
  bias?: string;
  /** False for layers we report but never factorise (depthwise convs, recurrent kernels). */
  factorisable: boolean;
}

/**
 * What a compressed model's files hold besides its tensors' values, as its format writes them
 * (formats/format.ts's outputOverhead): `base` bytes for the model as it is (model JSON, graph,
 * headers, container structure, files carried along), and `perLayer` more for each layer
 * written factorised (its new node or layer entry, its factors' names and headers).
 */
export interface OutputOverhead { base: number; perLayer: number }

export interface Model {
  format: ModelFormat;
  path: string;
  /** Bytes on disk of every file the model consists of. */
  fileBytes: number;
  files: string[];
  /** All parameters in the file, factorisable or not. */
  totalParams: number;
  /** Of totalParams, those of tensors the file repeats byte for byte under other names: read, and written, once (absent: none). */
  sharedParams?: number;
  layers: Layer[];
  tensors: TensorRef[];
  /** Reads a tensor's values decoded to float32, in stored (row-major) order. */
  readTensor(name: string): Promise<Float32Array>;
  /** Reads a layer's matrix view, row-major rows×cols, as float32. */
  readMatrix(layer: Layer): Promise<Float32Array>;
  /**
   * The matrix view or its transpose, whichever the file stores, so no transposing copy is
   * made: what spectra and SVDs need, since Aᵀ has A's singular values with U and V swapped.
   * `alloc` gives the array to read the values into (once the tensor has been checked)
   * instead of a new one.
   */
  readStoredMatrix(layer: Layer, alloc?: (elements: number) => Float32Array): Promise<StoredMatrix>;
  /**
   * Where the layer's stored matrix lies raw and whole in one regular file, for an engine that
   * reads files itself (Engine.files); undefined where it does not (compressed, quantized,
   * packed in a protobuf field, split over two shards).
   */
  matrixFile?(layer: Layer): MatrixInFile | undefined;
  close(): Promise<void>;
}

/** Stored element types an engine reading files decodes itself. */
export type FileDType = 'float32' | 'float64' | 'float16' | 'bfloat16';

/** `length` elements of `dtype` at `offset` of the file `path`. */
export interface RangeInFile { path: string; offset: number; dtype: FileDType; length: number }

/**
 * A layer's stored matrix where it lies (Model.matrixFile): rows×cols row-major, the matrix
 * view's transpose when `transposed`, as StoredMatrix. The reader checks its values, and its
 * bias's, as readStoredMatrix does: `model`, `tensor` and `layer` name them in the refusal.
 */
export interface MatrixInFile extends RangeInFile {
  rows: number;
  cols: number;
  transposed: boolean;
  model: string;
  tensor: string;
  layer: string;
  bias?: RangeInFile & { tensor: string };
}

/** Row-major rows×cols values: the layer's matrix view, or its transpose when `transposed`. */
export interface StoredMatrix {
  data: Float32Array;
  rows: number;
  cols: number;
  transposed: boolean;
}

/**
 * What kind of user-facing failure an InputError is, for callers that act on it (the IDE's job
 * contract, shared/jobProtocol.ts): 'output-exists', an output path already taken (AtomicOutput
 * without --force); 'unsupported', what the model's format or this build cannot do; else
 * 'bad-input' (bad flags, unreadable or malformed files).
 */
export type InputErrorCode = 'bad-input' | 'unsupported' | 'output-exists' | 'deep-cut';

/** A user-facing failure: bad input, unsupported file, bad flags. Exit code 2, one line. */
export class InputError extends Error {
  constructor(readonly file: string | undefined, message: string, readonly code: InputErrorCode = 'bad-input') {
    // One line whatever a hostile file put in the names it quotes: control bytes are escaped.
    // eslint-disable-next-line no-control-regex -- matching control bytes is the point
    super((file ? `${file}: ${message}` : message).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
    this.name = 'InputError';
  }
}

/** Raised when the user (or a client) cancels a job. */
export class CancelledError extends Error {
  constructor() { super('cancelled'); this.name = 'CancelledError'; }
}

export interface Progress {
  /** Fraction done in [0,1] and a short label of the current step. */
  report(fraction: number, label: string): void;
}

export interface JobOptions {
  signal?: AbortSignal;
  progress?: Progress;
}

/** The options for one stage of a job: its progress 0…1 maps onto [from, from + span] of the job's. */
export function stageOf(opts: JobOptions, from: number, span: number, prefix = ''): JobOptions {
  return { signal: opts.signal, progress: { report: (f, label) => opts.progress?.report(from + span * f, `${prefix}${label}`) } };
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

/** How long synchronous work may hold the event loop between checkpoints. */
const YIELD_EVERY_MS = 50;
let lastYield = 0;

/**
 * Where a long loop of synchronous steps (training, batches of a model run) may stop: lets the
 * event loop run — signal handlers, the IDE's Cancel, timers — when it has not for
 * YIELD_EVERY_MS, then throws CancelledError if the job was cancelled. Called every step, it
 * costs a clock read; the numbers computed never depend on it.
 */
export async function checkpoint(signal?: AbortSignal): Promise<void> {
  if (performance.now() - lastYield >= YIELD_EVERY_MS) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    lastYield = performance.now();
  }
  throwIfAborted(signal);
}
