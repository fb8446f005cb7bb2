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
 * Multiply-adds of Gram one input may cost a convolution's statistics: past it, they see a
 * uniform sub-grid of its output positions (every ty-th row, every tx-th column). One 3×39×8
 * convolution of Basic Pitch has 45 408 positions of 936 values per 2 s window, 40 G
 * multiply-adds a window (7.5 s here), and its neighbours agree: a sub-grid of at most 1 225
 * positions a window still sums 390 samples a dimension over 300 windows. The Fashion-MNIST
 * CNNs' and PaddleOCR's recogniser's convolutions stay whole; a 3×3×64 filter over a 112×112
 * map (12 544 positions of 576 values) would be thinned 4×.
 */
export const GRAM_PER_INPUT = 2 ** 30;

/** Sub-grid steps (ty, tx) keeping positions·d² within GRAM_PER_INPUT, the denser axis thinned first. */
export function positionSteps(oh: number, ow: number, d: number): [number, number] {
  const most = Math.max(1, Math.floor(GRAM_PER_INPUT / (d * d)));
  let ty = 1, tx = 1;
  while (Math.ceil(oh / ty) * Math.ceil(ow / tx) > most) {
    if (Math.ceil(oh / ty) >= Math.ceil(ow / tx)) ty++; else tx++;
  }
  return [ty, tx];
}

/**
 * im2col with stock ops: the input is zero-padded as the layer pads it, and each kernel offset
 * (dy, dx) contributes one strided slice, every output position's input channels at that
 * offset; stacked, they are every position's patch. (A convolution with one-hot filters cuts
 * the same patches, but costs d² multiply-adds per position for d = kh·kw·cin values: for a
 * 1×3 kernel over 960 channels that was most of a whitening job's time.) Rows are in the
 * (kh, kw, cin) order TF.js and Keras (HWIO) flatten a filter in.
 */
export function patchRows(tf: Tf, g: ConvGeometry, cin: number): PatchCutter {
  const [kh, kw] = g.kernel;
  const d = kh * kw * cin;
  return {
    dim: d,
    rows: (t) => {
      const [n, h, w] = t.shape;
      const { pad: [[top, bottom], [left, right]], step: [ys, xs], rows, cols } = subGrid(g, h, w, d);
      const [dh, dw] = g.dilation;
      const padded = top + bottom + left + right > 0 ? tf.pad(t as Tensor4D, [[0, 0], [top, bottom], [left, right], [0, 0]]) : t as Tensor4D;
      const slices: TfTensor[] = [];
      for (let dy = 0; dy < kh; dy++) {
        for (let dx = 0; dx < kw; dx++) {
          slices.push(kh * kw === 1 && ys * xs === 1 ? padded
            : tf.stridedSlice(padded, [0, dy * dh, dx * dw, 0], [n, dy * dh + (rows - 1) * ys + 1, dx * dw + (cols - 1) * xs + 1, cin], [1, ys, xs, 1]));
        }
      }
      // [n, rows, cols, kh·kw, cin]: a row per position in (kh, kw, cin) order.
      return tf.reshape(slices.length === 1 ? slices[0] : tf.stack(slices, 3), [-1, d]) as Tensor2D;
    },
  };
}

/**
 * The patches of an NCHW batch on the host (ONNX's activations) in the (cin, kh, kw) order ONNX
 * flattens a filter in, feature-major: row f holds patch value f of every sample, samples in
 * patchRows' order (image, then position). Both sides are walked in memory order: cutting rows
 * position by position read each value from another channel plane, and took as long as
 * transposing and slicing in tfjs had (7 s of the recogniser's statistics, against 1.4 s).
 */
export function nchwPatchColumns(x: Float32Array, shape: number[], g: ConvGeometry): Float32Array {
  const [n, cin, h, w] = shape;
  const [kh, kw] = g.kernel;
  const [dh, dw] = g.dilation;
  const { pad: [[top], [left]], step: [ys, xs], rows, cols } = subGrid(g, h, w, cin * kh * kw);
  const positions = rows * cols, samples = n * positions;
  // Zero-filled: taps that fall in the padding stay 0.
  const out = new Float32Array(cin * kh * kw * samples);
  for (let ch = 0, f = 0; ch < cin; ch++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++, f++) {
        const x0 = kx * dw - left, whole = x0 >= 0 && x0 + (cols - 1) * xs < w;
        for (let b = 0; b < n; b++) {
          const plane = (b * cin + ch) * h * w;
          for (let r = 0, o = f * samples + b * positions; r < rows; r++, o += cols) {
            const iy = r * ys - top + ky * dh;
            if (iy < 0 || iy >= h) continue;
            const line = plane + iy * w + x0;
            if (whole && xs === 1) { out.set(x.subarray(line, line + cols), o); continue; }
            for (let c = 0; c < cols; c++) {
              const ix = x0 + c * xs;
              if (ix >= 0 && ix < w) out[o + c] = x[line + c * xs];
            }
          }
        }
      }
    }
  }
  return out;
}

/** The padding of an h×w input, and the sub-grid of output positions (steps in input pixels, rows × cols) whose patches are cut. */
function subGrid(g: ConvGeometry, h: number, w: number, d: number) {
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.strides;
  const [dh, dw] = g.dilation;
  const pad = padding(g, h, w);
  const [[top, bottom], [left, right]] = pad;
  const oh = Math.floor((h + top + bottom - (kh - 1) * dh - 1) / sh) + 1;
  const ow = Math.floor((w + left + right - (kw - 1) * dw - 1) / sw) + 1;
  const [ty, tx] = positionSteps(oh, ow, d);
  return { pad, step: [sh * ty, sw * tx], rows: Math.ceil(oh / ty), cols: Math.ceil(ow / tx) };
}

/** (top, bottom), (left, right) zeros the layer pads an h×w input with; 'same' as TF.js pads it (the odd one at the end). */
function padding(g: ConvGeometry, h: number, w: number): [[number, number], [number, number]] {
  if (g.padding === 'valid') return [[0, 0], [0, 0]];
  if (g.padding !== 'same') return [g.padding[1], g.padding[2]];
  const side = (size: number, k: number, s: number, dil: number): [number, number] => {
    const total = Math.max(0, (Math.ceil(size / s) - 1) * s + (k - 1) * dil + 1 - size);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  return [side(h, g.kernel[0], g.strides[0], g.dilation[0]), side(w, g.kernel[1], g.strides[1], g.dilation[1])];
}
