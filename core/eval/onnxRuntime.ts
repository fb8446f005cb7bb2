// Runs ONNX models in the stock runtime (onnxruntime-node, CPU) on float inputs: the
// reference for what a compressed model computes.
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { floatToHalf, halfToFloat } from '../io/decode.js';
import { InputError } from '../types.js';
import type { Tensor } from './tensor.js';

type Ort = typeof import('onnxruntime-node');
let ort: Promise<Ort> | undefined;
/** Loaded on first use: the native binding costs start-up time every other command would pay. */
function runtime(): Promise<Ort> {
  ort ??= import('onnxruntime-node');
  return ort;
}

async function session(path: string): Promise<InferenceSession> {
  const { InferenceSession } = await runtime();
  try {
    return await InferenceSession.create(path, { executionProviders: ['cpu'] });
  } catch (e) {
    throw new InputError(path, `onnxruntime cannot load the model (${(e as Error).message.split('\n')[0]})`);
  }
}

function firstInput(s: InferenceSession, path: string): InferenceSession.TensorValueMetadata {
  const meta = s.inputMetadata[0];
  if (!meta?.isTensor) throw new InputError(path, 'the model\'s first input is not a tensor');
  return meta;
}

/** Shape of the model's first input; symbolic (dynamic) dimensions are -1. */
export async function onnxInputShape(path: string): Promise<number[]> {
  const s = await session(path);
  try {
    return firstInput(s, path).shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
  } finally {
    await s.release();
  }
}

/** Feeds `input` to the first input (converted to its float type) and returns the first output as float32. */
export async function runOnnx(path: string, input: Tensor): Promise<Tensor> {
  const { Tensor: OrtTensorClass } = await runtime();
  const s = await session(path);
  try {
    const meta = firstInput(s, path);
    const feed = meta.type === 'float16' ? new OrtTensorClass('float16', Uint16Array.from(input.data, floatToHalf), input.shape)
      : meta.type === 'float64' ? new OrtTensorClass('float64', Float64Array.from(input.data), input.shape)
        : new OrtTensorClass('float32', input.data, input.shape);
    const result = (await s.run({ [s.inputNames[0]]: feed }))[s.outputNames[0]] as OrtTensor;
    const data = result.type === 'float16' ? Float32Array.from(result.data as Uint16Array, halfToFloat) : Float32Array.from(result.data as ArrayLike<number>);
    return { data, shape: [...result.dims] };
  } finally {
    await s.release();
  }
}
