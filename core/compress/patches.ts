// A 2-D convolution computes y = patch·W at every output position (im2col), so its input
// statistics for whitening are those of its input patches, laid out in the order its format
// flattens a filter. Every collector (TF.js layers, TF.js graph, ONNX) cuts patches here.
import type { Tensor as TfTensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import type { tfjs } from '../formats/tfjs/runtime.js';

type Tf = Awaited<ReturnType<typeof tfjs>>;
/** Zero padding of an NHWC input, per dimension (before, after). */
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** Cuts an NHWC batch into one row of `dim` values per output position (inside a tf.tidy). */
export interface PatchCutter { dim: number; rows: (nhwc: TfTensor) => Tensor2D }

/** A 2-D convolution's geometry on an NHWC input, whatever format described it. */
export interface ConvGeometry { kernel: number[]; strides: number[]; padding: 'same' | 'valid' | ExplicitPadding; dilation: number[] }

/**
 * im2col with stock ops: a convolution with one-hot filters, output channel (dy·kw + dx)·cin + c
 * copying input channel c at offset (dy, dx), with the layer's own strides, padding and
 * dilation, gives every output position's patch. `order` is the filter's flattened layout:
 * (kh, kw, cin) for TF.js and Keras (HWIO), (cin, kh, kw) for ONNX ([cout, cin, kh, kw]).
 */
export function patchRows(tf: Tf, g: ConvGeometry, cin: number, order: 'hwc' | 'chw' = 'hwc'): PatchCutter {
  const [kh, kw] = g.kernel;
  const d = kh * kw * cin;
  const eye = new Float32Array(d * d);
  for (let o = 0; o < d; o++) eye[o * d + o] = 1; // [kh, kw, cin, d] row-major: index ((dy·kw+dx)·cin+c)·d + o
  return {
    dim: d,
    rows: (t) => {
      const filter = tf.tensor4d(eye, [kh, kw, cin, d]);
      const hwc = tf.reshape(tf.conv2d(t as Tensor4D, filter, g.strides as [number, number], g.padding, 'NHWC', g.dilation as [number, number]), [-1, kh * kw, cin]);
      return tf.reshape(order === 'hwc' ? hwc : tf.transpose(hwc, [0, 2, 1]), [-1, d]) as Tensor2D;
    },
  };
}
