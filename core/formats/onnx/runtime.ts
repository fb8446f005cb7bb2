// Runs ONNX models in the stock runtime (onnxruntime-node, CPU) on float inputs: the
// reference for what a compressed model computes, and the collector of calibration inputs.
import { availableParallelism } from 'node:os';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { floatToHalf, halfToFloat } from '../../io/decode.js';
import { InputError } from '../../types.js';
import { fixedBatch, mapChunks, type Tensor } from '../../eval/tensor.js';
import type { LoadedModel } from '../format.js';

type Ort = typeof import('onnxruntime-node');
let ort: Promise<Ort> | undefined;
/** Loaded on first use: the native binding costs start-up time every other command would pay. */
function runtime(): Promise<Ort> {
  ort ??= import('onnxruntime-node');
  return ort;
}

/** One onnxruntime session fed through its first input. */
export class OnnxSession {
  private constructor(private readonly s: InferenceSession, private readonly ortModule: Ort, readonly path: string) {}

  /** Opens the file at `path`, or `bytes` (an in-memory model derived from it, named as `path` in errors). */
  static async open(path: string, bytes?: Uint8Array): Promise<OnnxSession> {
    const o = await runtime().catch((e: unknown) => {
      // The universal .vsix leaves the native runtime out (scripts/package.mjs).
      throw new InputError(path, `running ONNX models needs onnxruntime-node, which is not installed here (${(e as Error).message.split('\n')[0]}); use the platform build of the extension, or npm install onnxruntime-node beside the CLI`);
    });
    const options: InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      // onnxruntime's default here was one thread (it counts cores its own way): the recogniser's
      // 34 calibration lines took 1.2 s a run on one thread, 0.68 s on two. Its threads wait
      // without spinning, so they leave the cores to the helper threads between runs.
      intraOpNumThreads: availableParallelism(),
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    };
    let s: InferenceSession;
    try {
      s = bytes ? await o.InferenceSession.create(bytes, options) : await o.InferenceSession.create(path, options);
    } catch (e) {
      throw new InputError(path, `onnxruntime cannot load the model (${(e as Error).message.split('\n')[0]})`);
    }
    const meta = s.inputMetadata[0];
    if (!meta?.isTensor) {
      await s.release();
      throw new InputError(path, 'the model\'s first input is not a tensor');
    }
    return new OnnxSession(s, o, path);
  }

  get inputCount(): number { return this.s.inputNames.length; }
  get inputName(): string { return this.s.inputNames[0]; }

  /** Shape of the first input; symbolic (dynamic) dimensions are -1. */
  get inputShape(): number[] {
    return (this.s.inputMetadata[0] as InferenceSession.TensorValueMetadata).shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
  }

  /**
   * The outputs run reads by default: the first, then every other float tensor output (an
   * integer one, such as a classifier's label next to its scores, is derived from those; a
   * sequence or map is no tensor at all).
   */
  get outputNames(): string[] {
    const float = ['float32', 'float16', 'float64'];
    return this.s.outputNames.filter((_, i) => {
      const meta = this.s.outputMetadata[i];
      return i === 0 || (meta?.isTensor === true && float.includes(meta.type));
    });
  }

  /** Feeds `input` to the first input (converted to its float type); returns the named outputs (default: outputNames) as float32. */
  async run(input: Tensor, outputs: string[] = this.outputNames): Promise<Map<string, Tensor>> {
    const { Tensor: OrtTensorClass } = this.ortModule;
    const type = (this.s.inputMetadata[0] as InferenceSession.TensorValueMetadata).type;
    const feed = type === 'float16' ? new OrtTensorClass('float16', Uint16Array.from(input.data, floatToHalf), input.shape)
      : type === 'float64' ? new OrtTensorClass('float64', Float64Array.from(input.data), input.shape)
        : new OrtTensorClass('float32', input.data, input.shape);
    const results = await this.s.run({ [this.inputName]: feed }, outputs);
    return new Map(outputs.map((name) => {
      const r = results[name] as OrtTensor;
      // A float32 output's data is the binding's own fresh array: taken as it is (Float32Array.from walked it value by value).
      const data = r.type === 'float16' ? Float32Array.from(r.data as Uint16Array, halfToFloat)
        : r.data instanceof Float32Array ? r.data : Float32Array.from(r.data as ArrayLike<number>);
      return [name, { data, shape: [...r.dims] }];
    }));
  }

  release(): Promise<void> { return this.s.release(); }
}

/** The model at `path` (or written in memory as `bytes`) on one onnxruntime session. */
export async function loadOnnx(path: string, bytes?: Uint8Array): Promise<LoadedModel> {
  const s = await OnnxSession.open(path, bytes);
  return {
    inputShape: s.inputShape.map((d) => (d < 0 ? null : d)),
    run: (x) => runOn(s, x),
    dispose: () => s.release(),
  };
}

/** Every output the session reads by default (OnnxSession.outputNames), in chunks of its fixed batch size where it has one. */
function runOn(s: OnnxSession, input: Tensor): Promise<Tensor[]> {
  const n = input.shape[0];
  return mapChunks(input, fixedBatch(s.path, s.inputShape[0], n) ?? n, async (chunk) => [...(await s.run(chunk)).values()]);
}

async function withSession<T>(path: string, f: (s: OnnxSession) => Promise<T>): Promise<T> {
  const s = await OnnxSession.open(path);
  try {
    return await f(s);
  } finally {
    await s.release();
  }
}

/** Shape of the model's first input; symbolic (dynamic) dimensions are -1. */
export function onnxInputShape(path: string): Promise<number[]> {
  return withSession(path, async (s) => s.inputShape);
}

/**
 * Feeds `input` to the first input (converted to its float type) on one session, in chunks of
 * the model's fixed batch size where it has one, and returns the first output as float32.
 */
export async function runOnnx(path: string, input: Tensor): Promise<Tensor> {
  return (await withSession(path, (s) => runOn(s, input)))[0];
}
