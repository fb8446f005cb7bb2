// Streaming input statistics of the MatMul and Conv2D nodes (fused or not) of a TF.js graph
// model on calibration inputs, collected in stock tfjs: GraphModel.execute fetches each layer
// node's activation input (input 0) batch by batch (batches sized by the bytes they fetch) and
// C = XᵀX / N is summed in f64, never holding all activations. A MatMul with transpose_a receives its input feature-major; a
// Conv2D's samples are its input patches (patches.ts). NCHW convolutions keep plain SVD.
import type { Tensor as TfTensor } from '@tensorflow/tfjs';
import { fixedBatch, type Tensor } from '../../eval/tensor.js';
import { executeGraph, withGraphModel } from './graphRuntime.js';
import { tfjs } from './runtime.js';
import type { TfjsModel } from './read.js';
import type { GraphAttr, GraphNode } from './read.js';
import { InputError, checkpoint, type JobOptions, type Layer } from '../../types.js';
import { MOMENT_BATCH_BYTES, MomentAccumulator, type InputMoments } from '../../compress/moments.js';
import { patchRows, type ConvGeometry, type ExplicitPadding } from '../../compress/patches.js';

type Tf = Awaited<ReturnType<typeof tfjs>>;

/** A layer's input, fetched by node output name, and how to turn a batch of it into samples. */
interface Tap { layer: Layer; input: string; dim: number; featureMajor: boolean; rows?: (t: TfTensor) => TfTensor }

const text = (a: GraphAttr | undefined): string | undefined => (a?.s === undefined ? undefined : Buffer.from(a.s, 'base64').toString());
const pair = (a: GraphAttr | undefined): number[] => { const i = a?.list?.i?.map(Number) ?? [1, 1, 1, 1]; return [i[1], i[2]]; };

/** The geometry of a Conv2D node, or undefined for NCHW data (tfjs runs NHWC only). */
function convGeometry(node: GraphNode, kernel: number[]): ConvGeometry | undefined {
  const padding = text(node.attr?.padding), format = text(node.attr?.data_format) ?? 'NHWC';
  if (format !== 'NHWC' || !['SAME', 'VALID', 'EXPLICIT'].includes(padding ?? '')) return undefined;
  // EXPLICIT lists (before, after) per NHWC dimension.
  const p = node.attr?.explicit_paddings?.list?.i?.map(Number) ?? [];
  const explicit = [0, 2, 4, 6].map((i) => [p[i] ?? 0, p[i + 1] ?? 0]) as ExplicitPadding;
  return {
    kernel: kernel.slice(0, 2), strides: pair(node.attr?.strides), dilation: pair(node.attr?.dilations),
    padding: padding === 'SAME' ? 'same' : padding === 'VALID' ? 'valid' : explicit,
  };
}

function taps(tf: Tf, model: TfjsModel, layers: Layer[]): Tap[] {
  const nodes = new Map((model.extra.modelTopology as { node: GraphNode[] }).node.map((n) => [n.name, n]));
  return layers.flatMap((layer): Tap[] => {
    const node = nodes.get(layer.name)!;
    const input = node.input![0];
    if (layer.kind === 'matmul') {
      const featureMajor = node.attr?.transpose_a?.b === true;
      return [{ layer, input, dim: layer.matrix.rows, featureMajor }];
    }
    const g = convGeometry(node, layer.shape);
    if (!g) return [];
    const p = patchRows(tf, g, layer.shape[2]);
    return [{ layer, input, dim: p.dim, featureMajor: false, rows: p.rows }];
  });
}

/**
 * Feeds the calibration inputs in batches whose fetched activations and patches stay near
 * `batchBytes` (MOMENT_BATCH_BYTES): a graph with a fixed batch size gets that; otherwise the
 * first input runs alone and its bytes size the batches after it, up to `maxBatch` inputs.
 */
export async function tfjsGraphInputMoments(model: TfjsModel, layers: Layer[], x: Tensor, opts: JobOptions = {}, maxBatch = 500, batchBytes = MOMENT_BATCH_BYTES): Promise<Map<string, InputMoments>> {
  const tf = await tfjs();
  const covered = taps(tf, model, layers);
  if (!covered.length) return new Map();
  return withGraphModel(model.path, async (graph) => {
    if (graph.inputs.length !== 1) throw new InputError(model.path, `whitening feeds the calibration inputs to one model input; this model has ${graph.inputs.length}`);
    const placeholder = graph.inputs[0].name;
    // A layer reading the model input is fed, not fetched; the rest are fetched once per tensor.
    const fed = (t: Tap): boolean => t.input.replace(/:0$/, '') === placeholder;
    const fetched = [...new Set(covered.filter((t) => !fed(t)).map((t) => t.input))];
    const n = x.shape[0];
    const fixed = fixedBatch(model.path, graph.inputs[0].shape?.[0], n);
    let batch = fixed ?? 1, bytesPerInput = 1;
    const acc = covered.map((t) => new MomentAccumulator(t.dim));
    const per = x.data.length / n;
    for (let start = 0; start < n; start += batch) {
      if (fixed === undefined && start === 1) batch = Math.max(1, Math.min(maxBatch, Math.floor(batchBytes / bytesPerInput)));
      await checkpoint(opts.signal);
      const end = Math.min(n, start + batch);
      const xb = tf.tensor(x.data.subarray(start * per, end * per), [end - start, ...x.shape.slice(1)]);
      let outs: TfTensor[] = [];
      try {
        try {
          const got = fetched.length ? await executeGraph(graph, xb, fetched) : [];
          outs = Array.isArray(got) ? got : [got];
        } catch (e) {
          throw new InputError(model.path, `tfjs cannot run the model on the calibration inputs (${(e as Error).message.split('\n')[0]})`);
        }
        let bytes = outs.reduce((sum, o) => sum + o.size * 4, 0);
        covered.forEach((t, i) => {
          const v = fed(t) ? xb : outs[fetched.indexOf(t.input)];
          const width = t.rows ? t.dim : t.featureMajor ? v.shape[0] : v.shape.at(-1);
          if (width !== t.dim || (t.rows && v.rank !== 4)) throw new InputError(model.path, `layer ${t.layer.name} receives ${t.input} of shape [${v.shape.join(', ')}], not ${t.dim} features`);
          tf.tidy(() => {
            const rows = (t.rows ? t.rows(v) : v).dataSync() as Float32Array;
            if (t.rows) bytes += rows.byteLength;
            acc[i].addSamples(rows, t.featureMajor);
          });
        });
        bytesPerInput = Math.max(1, bytes / (end - start));
      } finally {
        tf.dispose([xb, ...outs]);
      }
      opts.progress?.report(end / n, 'calibration statistics');
    }
    return new Map(covered.map((t, i) => [t.layer.name, acc[i].moments()]));
  });
}
