// What the operators of an ONNX graph run in TF.js (inTfjs.ts) pass and share: the values
// (TF.js tensors, or integer tensors kept on the host), the operator type, and reading an
// operator's attributes and inputs.
import { intsAttr } from './read.js';
import type { NodeMessage } from './schema.js';

export type Tf = typeof import('@tensorflow/tfjs');
export type TfTensor = import('@tensorflow/tfjs').Tensor;

/** An integer tensor kept on the host. */
export class Host {
  constructor(readonly dims: number[], readonly data: number[]) {}
  static of(values: number[]): Host { return new Host([values.length], values); }
}
/**
 * A weight trained as its low-rank factors (finetune.ts): the stored tensor is A·B, or (A·B)ᵀ
 * where `transposed`. Products read the factors, so a training step costs the factorised
 * model's multiplications, not the dense one's (10× fewer at a tenth of the parameters); any
 * other operator reads the dense tensor.
 */
export class Factored {
  constructor(readonly a: TfTensor, readonly b: TfTensor, readonly transposed: boolean, readonly dense: () => TfTensor) {}

  /** x · W, or x · Wᵀ where `transposeW`, W being the stored tensor: two thin products. */
  times(tf: Tf, x: TfTensor, transposeW: boolean): TfTensor {
    return this.transposed === transposeW
      ? tf.matMul(tf.matMul(x, this.a), this.b)
      : tf.matMul(tf.matMul(x, this.b, false, true), this.a, false, true);
  }
}
export type Value = TfTensor | Host | Factored;

export type Op = (tf: Tf, n: NodeMessage, inputs: (Value | undefined)[], opset: number) => Value[];

export const floatAttr = (n: NodeMessage, name: string, fallback: number): number => n.attribute.find((a) => a.name === name)?.f ?? fallback;

export function tensorOf(tf: Tf, v: Value | undefined): TfTensor {
  if (v === undefined) throw new Error('a required input is missing');
  if (v instanceof Factored) return v.dense();
  return v instanceof Host ? tf.tensor(v.data, v.dims, 'float32') : v;
}
export function hostOf(v: Value | undefined, what: string): Host {
  if (!(v instanceof Host)) throw new Error(`${what} must be a constant integer tensor`);
  return v;
}
export const size = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);
export const axisOf = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

export const unary = (f: (tf: Tf, x: TfTensor, n: NodeMessage) => TfTensor): Op => (tf, n, [x]) => [f(tf, tensorOf(tf, x), n)];

/** Axes from the attribute (before opset 13) or the second input. */
export function axesOf(n: NodeMessage, v: Value | undefined): number[] | undefined {
  return intsAttr(n, 'axes') ?? (v ? hostOf(v, 'axes').data : undefined);
}
