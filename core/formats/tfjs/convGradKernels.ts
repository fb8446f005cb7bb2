// The convolution gradients tfjs-backend-wasm lacks, registered for it (tf.registerKernel), so
// fine-tuning trains convolutions (runners/tfjsFinetune.ts, onnx/finetune.ts) instead of
// freezing them: a Conv2D filter's gradient (Aᵀ·dY over the input's patches, on the backend's
// fast product), and a depthwise convolution's filter and input gradients (depthwise
// convolutions themselves on the backend where the window has stride 1, loops elsewhere). And
// the one it has but runs slowly: a Conv2D's input gradient, a loop 10× the cost of the forward
// convolution (56 feature maps of 6×100×48 through a 3×3 filter: 380 against 41 ms), at stride 1
// the forward convolution of the output gradient with the filter turned. NHWC only, as TF.js's
// convolution gradients are; the results are what the cpu backend's kernels give
// (test/unit/convGradKernels.test.ts).
type Tf = typeof import('@tensorflow/tfjs');
type TensorInfo = import('@tensorflow/tfjs').TensorInfo;
type KernelFunc = import('@tensorflow/tfjs').KernelConfig['kernelFunc'];
import { override } from './wasmKernels.js';

interface WasmBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  disposeData(dataId: object): void;
}

type Pad = 'valid' | 'same' | number | number[][];
interface Geometry { strides: [number, number]; dilations?: number | [number, number]; pad: Pad; dataFormat?: string }

/** Patch values a Conv2D filter gradient builds at a time (floats): 64 MB. */
const PATCH_FLOATS = 2 ** 24;

const pair = (v: number | [number, number] | undefined): [number, number] => (v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v);

/** Padding before the first row and column, as TF.js's conv_util computes it for these shapes. */
function padBefore(pad: Pad, inH: number, inW: number, outH: number, outW: number, kh: number, kw: number, [sh, sw]: [number, number], [dh, dw]: [number, number]): [number, number] {
  if (pad === 'valid') return [0, 0];
  if (typeof pad === 'number') return [pad, pad];
  if (pad === 'same') {
    const before = (input: number, out: number, k: number, s: number, d: number): number => Math.floor(Math.max((out - 1) * s + (k - 1) * d + 1 - input, 0) / 2);
    return [before(inH, outH, kh, sh, dh), before(inW, outW, kw, sw, dw)];
  }
  return [pad[1][0], pad[2][0]];
}

/** A float32 output of `shape` holding `values`. */
function output(backend: WasmBackend, shape: number[], values: Float64Array): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  backend.typedArrayFromHeap(out).set(values);
  return out;
}

function checkNhwc(g: Geometry, what: string): void {
  if (g.dataFormat !== undefined && g.dataFormat !== 'NHWC') throw new Error(`${what}: only NHWC convolutions have gradients here`);
}

/** dW = Σ patchesᵀ·dY: the patches of a run of images at a time laid out as rows, multiplied on the backend's product kernel. */
function conv2dFilterGrad(tf: Tf, backendName: string): KernelFunc {
  return (args) => {
    const { inputs: { x, dy }, backend, attrs } = args as unknown as { inputs: { x: TensorInfo; dy: TensorInfo }; backend: WasmBackend; attrs: Geometry & { filterShape: number[] } };
    checkNhwc(attrs, 'Conv2DBackpropFilter');
    const [n, h, w, c] = x.shape, [, oh, ow, f] = dy.shape;
    const [kh, kw] = attrs.filterShape;
    const [sh, sw] = pair(attrs.strides);
    const [top, left] = padBefore(attrs.pad, h, w, oh, ow, kh, kw, [sh, sw], [1, 1]);
    const k = kh * kw * c, perImage = oh * ow;
    const images = Math.max(1, Math.min(n, Math.floor(PATCH_FLOATS / (perImage * k))));
    const matMul = tf.getKernel('BatchMatMul', backendName)!.kernelFunc;
    const sum = new Float64Array(k * f);
    for (let n0 = 0; n0 < n; n0 += images) {
      const n1 = Math.min(n, n0 + images), rows = (n1 - n0) * perImage;
      const patches = backend.makeOutput([1, rows, k], 'float32');
      const whole = n0 === 0 && n1 === n;
      const dyPart = whole ? { ...dy, shape: [1, rows, f] } : backend.makeOutput([1, rows, f], 'float32');
      // Views after every allocation: growing the heap detaches earlier ones.
      const src = backend.typedArrayFromHeap(x), p = backend.typedArrayFromHeap(patches);
      if (!whole) backend.typedArrayFromHeap(dyPart).set(backend.typedArrayFromHeap(dy).subarray(n0 * perImage * f, n1 * perImage * f));
      let row = 0;
      for (let b = n0; b < n1; b++) {
        for (let y = 0; y < oh; y++) {
          for (let z = 0; z < ow; z++, row += k) {
            for (let i = 0; i < kh; i++) {
              const ih = y * sh + i - top;
              for (let j = 0; j < kw; j++) {
                const iw = z * sw + j - left, at = row + (i * kw + j) * c;
                if (ih < 0 || ih >= h || iw < 0 || iw >= w) p.fill(0, at, at + c);
                else { const from = ((b * h + ih) * w + iw) * c; p.set(src.subarray(from, from + c), at); }
              }
            }
          }
        }
      }
      const part = matMul({ inputs: { a: patches, b: dyPart }, backend: backend as never, attrs: { transposeA: true, transposeB: false } }) as TensorInfo;
      const values = backend.typedArrayFromHeap(part);
      for (let i = 0; i < sum.length; i++) sum[i] += values[i];
      for (const t of whole ? [patches, part] : [patches, dyPart, part]) backend.disposeData(t.dataId);
    }
    return output(backend, attrs.filterShape, sum);
  };
}

/**
 * Visits every (output position, tap) pair of a depthwise convolution whose input position lies
 * inside the image: `visit(inputOffset, outputOffset, filterOffset)`, each the start of a
 * channel run (input: c values; output and filter: c·m, channel-major).
 */
function eachTap(kernel: string, shape: { n: number; h: number; w: number; c: number; m: number; oh: number; ow: number; kh: number; kw: number }, g: Geometry, visit: (input: number, output: number, filter: number) => void): void {
  checkNhwc(g, kernel);
  const { n, h, w, c, m, oh, ow, kh, kw } = shape;
  const s = pair(g.strides), d = pair(g.dilations);
  const [top, left] = padBefore(g.pad, h, w, oh, ow, kh, kw, s, d);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let z = 0; z < ow; z++) {
        const output = ((b * oh + y) * ow + z) * c * m;
        for (let i = 0; i < kh; i++) {
          const ih = y * s[0] + i * d[0] - top;
          if (ih < 0 || ih >= h) continue;
          for (let j = 0; j < kw; j++) {
            const iw = z * s[1] + j * d[1] - left;
            if (iw >= 0 && iw < w) visit(((b * h + ih) * w + iw) * c, output, (i * kw + j) * c * m);
          }
        }
      }
    }
  }
}

/**
 * The padding [top, bottom, left, right] of a stride-1, undilated window, where each side is
 * less than the filter (so the gradients are depthwise convolutions themselves); else undefined.
 */
function unitPads(g: Geometry, h: number, w: number, oh: number, ow: number, kh: number, kw: number): [number, number, number, number] | undefined {
  const s = pair(g.strides), d = pair(g.dilations);
  if (s[0] !== 1 || s[1] !== 1 || d[0] !== 1 || d[1] !== 1) return undefined;
  const [top, left] = padBefore(g.pad, h, w, oh, ow, kh, kw, s, d);
  const pads: [number, number, number, number] = [top, oh + kh - 1 - h - top, left, ow + kw - 1 - w - left];
  return pads.every((p, i) => p >= 0 && p < (i < 2 ? kh : kw)) ? pads : undefined;
}

/**
 * A depthwise filter's gradient, on the backend's own depthwise convolution where the window
 * allows (unitPads, one filter per channel): image by image, the padded input correlated with
 * that image's output gradient as the filter, summed. 4–8× faster than the loops.
 */
function depthwiseFilterGrad(tf: Tf, backendName: string): KernelFunc {
  return (args) => {
    const { x, dy } = (args.inputs as unknown as { x: TensorInfo; dy: TensorInfo });
    const backend = args.backend as unknown as WasmBackend, attrs = args.attrs as unknown as Geometry & { filterShape: number[] };
    const [n, h, w, c] = x.shape, [, oh, ow] = dy.shape, [kh, kw, , m] = attrs.filterShape;
    const pads = m === 1 ? unitPads(attrs, h, w, oh, ow, kh, kw) : undefined;
    if (!pads) return depthwiseFilterGradLoops(args);
    checkNhwc(attrs, 'DepthwiseConv2dNativeBackpropFilter');
    const depthwise = tf.getKernel('DepthwiseConv2dNative', backendName)!.kernelFunc;
    const sum = new Float64Array(kh * kw * c);
    const image = backend.makeOutput([1, h, w, c], 'float32');
    for (let b = 0; b < n; b++) {
      // A new filter each image: the backend keeps each filter's packed operator by its id.
      const filter = backend.makeOutput([oh, ow, c, 1], 'float32');
      backend.typedArrayFromHeap(image).set(backend.typedArrayFromHeap(x).subarray(b * h * w * c, (b + 1) * h * w * c));
      backend.typedArrayFromHeap(filter).set(backend.typedArrayFromHeap(dy).subarray(b * oh * ow * c, (b + 1) * oh * ow * c));
      const part = depthwise({ inputs: { x: image, filter }, backend: backend as never, attrs: { strides: [1, 1], dilations: [1, 1], pad: [[0, 0], pads.slice(0, 2), pads.slice(2), [0, 0]], dataFormat: 'NHWC' } }) as TensorInfo;
      const values = backend.typedArrayFromHeap(part);
      for (let i = 0; i < sum.length; i++) sum[i] += values[i];
      for (const t of [part, filter]) backend.disposeData(t.dataId);
    }
    backend.disposeData(image.dataId);
    return output(backend, attrs.filterShape, sum);
  };
}

function depthwiseFilterGradLoops(args: Parameters<KernelFunc>[0]): TensorInfo {
  const { inputs: { x, dy }, backend, attrs } = args as unknown as { inputs: { x: TensorInfo; dy: TensorInfo }; backend: WasmBackend; attrs: Geometry & { filterShape: number[] } };
  const [n, h, w, c] = x.shape, [, oh, ow] = dy.shape, [kh, kw, , m] = attrs.filterShape;
  const sum = new Float64Array(kh * kw * c * m);
  const src = backend.typedArrayFromHeap(x), grad = backend.typedArrayFromHeap(dy);
  eachTap('DepthwiseConv2dNativeBackpropFilter', { n, h, w, c, m, oh, ow, kh, kw }, attrs, m === 1
    ? (input, out, filter) => { for (let ch = 0; ch < c; ch++) sum[filter + ch] += src[input + ch] * grad[out + ch]; }
    : (input, out, filter) => { for (let ch = 0; ch < c; ch++) for (let q = 0; q < m; q++) sum[filter + ch * m + q] += src[input + ch] * grad[out + ch * m + q]; });
  return output(backend, attrs.filterShape, sum);
}

/**
 * A depthwise convolution's input gradient, on the backend's own depthwise convolution where the
 * window allows (unitPads, one filter per channel): the output gradient, padded by what the
 * window did not, correlated with the filter turned by 180°.
 */
function depthwiseInputGrad(tf: Tf, backendName: string): KernelFunc {
  return (args) => {
    const { dy, filter } = (args.inputs as unknown as { dy: TensorInfo; filter: TensorInfo });
    const backend = args.backend as unknown as WasmBackend, attrs = args.attrs as unknown as Geometry & { inputShape: number[] };
    const [, h, w, c] = attrs.inputShape, [, oh, ow] = dy.shape, [kh, kw, , m] = filter.shape;
    const pads = m === 1 ? unitPads(attrs, h, w, oh, ow, kh, kw) : undefined;
    if (!pads) return depthwiseInputGradLoops(args);
    checkNhwc(attrs, 'DepthwiseConv2dNativeBackpropInput');
    return throughTurned(tf.getKernel('DepthwiseConv2dNative', backendName)!.kernelFunc, backend, dy, filter, pads, [kh, kw, c, 1]);
  };
}

function depthwiseInputGradLoops(args: Parameters<KernelFunc>[0]): TensorInfo {
  const { inputs: { dy, filter }, backend, attrs } = args as unknown as { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: WasmBackend; attrs: Geometry & { inputShape: number[] } };
  const [n, h, w, c] = attrs.inputShape, [, oh, ow] = dy.shape, [kh, kw, , m] = filter.shape;
  const sum = new Float64Array(n * h * w * c);
  const grad = backend.typedArrayFromHeap(dy), f = backend.typedArrayFromHeap(filter);
  eachTap('DepthwiseConv2dNativeBackpropInput', { n, h, w, c, m, oh, ow, kh, kw }, attrs, m === 1
    ? (input, out, tap) => { for (let ch = 0; ch < c; ch++) sum[input + ch] += grad[out + ch] * f[tap + ch]; }
    : (input, out, tap) => {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let q = 0; q < m; q++) acc += grad[out + ch * m + q] * f[tap + ch * m + q];
        sum[input + ch] += acc;
      }
    });
  return output(backend, attrs.inputShape, sum);
}

/**
 * A Conv2D's input gradient at stride 1 (unitPads): the output gradient, padded by what the window
 * did not, through the backend's forward convolution with the filter turned by 180° and its
 * input and output channels swapped. Undefined elsewhere (the backend's own kernel then runs).
 */
function conv2dInputGrad(tf: Tf, backendName: string, args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const { dy, filter } = (args.inputs as unknown as { dy: TensorInfo; filter: TensorInfo });
  const backend = args.backend as unknown as WasmBackend, attrs = args.attrs as unknown as Geometry & { inputShape: number[] };
  const [, h, w] = attrs.inputShape, [, oh, ow] = dy.shape, [kh, kw, ci, co] = filter.shape;
  const pads = attrs.dataFormat === 'NHWC' || attrs.dataFormat === undefined ? unitPads(attrs, h, w, oh, ow, kh, kw) : undefined;
  return pads && throughTurned(tf.getKernel('Conv2D', backendName)!.kernelFunc, backend, dy, filter, pads, [kh, kw, co, ci]);
}

/**
 * An input gradient at stride 1 through the forward convolution `forward`: the output gradient
 * `dy`, padded by what the window (`pads`, unitPads) did not, against `filter` [kh, kw, in, out]
 * turned by 180° with its channel axes swapped, given `shape` (a depthwise filter keeps its own:
 * with one output channel, swapping moves no value).
 */
function throughTurned(forward: KernelFunc, backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, pads: [number, number, number, number], shape: number[]): TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  const turned = backend.makeOutput(shape, 'float32');
  const from = backend.typedArrayFromHeap(filter), to = backend.typedArrayFromHeap(turned);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const src = ((kh - 1 - i) * kw + kw - 1 - j) * ci * co, dst = (i * kw + j) * co * ci;
      for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) to[dst + o * ci + c] = from[src + c * co + o];
    }
  }
  const [top, bottom, left, right] = pads;
  const pad = [[0, 0], [kh - 1 - top, kh - 1 - bottom], [kw - 1 - left, kw - 1 - right], [0, 0]];
  try {
    return forward({ inputs: { x: dy, filter: turned }, backend: backend as never, attrs: { strides: [1, 1], dilations: [1, 1], pad, dataFormat: 'NHWC' } }) as TensorInfo;
  } finally {
    backend.disposeData(turned.dataId);
  }
}

/** Registers each gradient kernel `backendName` lacks, and replaces the slow one. */
export function convolutionGradients(tf: Tf, backendName: string): void {
  override(tf, 'Conv2DBackpropInput', backendName, (args, original) => conv2dInputGrad(tf, backendName, args) ?? original(args));
  const kernels: Record<string, KernelFunc> = {
    Conv2DBackpropFilter: conv2dFilterGrad(tf, backendName),
    DepthwiseConv2dNativeBackpropFilter: depthwiseFilterGrad(tf, backendName),
    DepthwiseConv2dNativeBackpropInput: depthwiseInputGrad(tf, backendName),
  };
  for (const [kernelName, kernelFunc] of Object.entries(kernels)) {
    if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc });
  }
}
