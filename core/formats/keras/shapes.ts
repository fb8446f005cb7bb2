// The weight shapes a Keras model config implies, so the reader can refuse a file whose stored
// kernels disagree with its own architecture (a 63×47 kernel in a layer the config calls
// Dense(48) on 64 inputs): factorised and written back, such a layer would no longer load.
//
// A layer's kernel shape is set by its config (units, filters, kernel_size, input_dim, …) and
// its number of input channels, which the config gives for a layer that declares its input
// (Keras 3 `build_config.input_shape`, `batch_input_shape` / `batch_shape`) and which in a
// Sequential model follows from the layer before it. Dimensions the config does not determine
// are not checked.
import type { LayerKind } from '../../types.js';
import { jsonText } from '../../text/jsonText.js';

type Json = Record<string, unknown>;
interface ConfigLayer { class_name?: unknown; config?: Json; build_config?: unknown; inbound_nodes?: unknown }
/** A shape with the dimensions the config does not determine as null. */
export type Dims = (number | null)[];
export interface ExpectedShapes { kernel?: Dims; bias?: Dims }

const int = (x: unknown): number | null => (Number.isSafeInteger(x) && (x as number) > 0 ? x as number : null);
const times = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a * b);

/** The last dimension of a flat shape list such as [null, 64]. */
function lastDim(shape: unknown): number | null {
  return Array.isArray(shape) && shape.length > 0 && !shape.some(Array.isArray) ? int(shape.at(-1)) : null;
}

const CONV_DIMS: Record<string, number> = { Conv1D: 1, Conv2D: 2, Conv3D: 3, Conv2DTranspose: 2, Conv3DTranspose: 3, DepthwiseConv2D: 2 };

/** Layers whose output has the input's last dimension. */
const SAME_CHANNELS = new Set([
  'Dropout', 'Activation', 'BatchNormalization', 'LayerNormalization', 'ReLU', 'LeakyReLU', 'PReLU', 'ELU', 'Softmax',
  'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D',
  'MaxPooling1D', 'MaxPooling2D', 'MaxPooling3D', 'AveragePooling1D', 'AveragePooling2D', 'AveragePooling3D',
  'GlobalMaxPooling1D', 'GlobalMaxPooling2D', 'GlobalMaxPooling3D', 'GlobalAveragePooling1D', 'GlobalAveragePooling2D', 'GlobalAveragePooling3D',
  'ZeroPadding1D', 'ZeroPadding2D', 'ZeroPadding3D', 'Cropping1D', 'Cropping2D', 'Cropping3D', 'UpSampling1D', 'UpSampling2D', 'UpSampling3D',
]);

function kernelSize(l: ConfigLayer, c: Json): Dims {
  const k = c.kernel_size;
  return Array.isArray(k) ? k.map(int) : Array.from({ length: CONV_DIMS[jsonText(l.class_name)] ?? 0 }, () => int(k));
}

/** A layer's kernel and bias shapes, given its input channels `cin` (null: unknown). */
export function expectedShapes(l: ConfigLayer, kind: LayerKind, cin: number | null): ExpectedShapes {
  const c = l.config ?? {};
  const channelsFirst = c.data_format === 'channels_first';
  const inC = channelsFirst ? null : cin;
  switch (kind) {
    case 'dense': return { kernel: [cin, int(c.units)], bias: [int(c.units)] };
    case 'embedding': return { kernel: [int(c.input_dim), int(c.output_dim)] };
    case 'conv1d': case 'conv2d': case 'conv3d': {
      const groups = int(c.groups) ?? 1;
      const perGroup = inC !== null && inC % groups === 0 ? inC / groups : null;
      return { kernel: [...kernelSize(l, c), perGroup, int(c.filters)], bias: [int(c.filters)] };
    }
    case 'conv-transpose': return { kernel: [...kernelSize(l, c), int(c.filters), inC], bias: [int(c.filters)] };
    case 'depthwise': {
      const multiplier = int(c.depth_multiplier) ?? 1;
      return { kernel: [...kernelSize(l, c), inC, multiplier], bias: [times(inC, multiplier)] };
    }
    case 'lstm': return { kernel: [cin, times(int(c.units), 4)] };
    case 'gru': return { kernel: [cin, times(int(c.units), 3)] };
    default: return {};
  }
}

/** The last dimension of a layer's output, where its config and input determine it. */
function outputDim(l: ConfigLayer, kind: LayerKind | undefined, cin: number | null): number | null {
  const c = l.config ?? {};
  const name = jsonText(l.class_name);
  if (name === 'InputLayer') return lastDim(c.batch_input_shape) ?? lastDim(c.batch_shape);
  if (c.data_format === 'channels_first') return null;
  if (SAME_CHANNELS.has(name)) return cin;
  switch (kind) {
    case 'dense': case 'lstm': case 'gru': return int(c.units);
    case 'embedding': return int(c.output_dim);
    case 'conv1d': case 'conv2d': case 'conv3d': case 'conv-transpose': return int(c.filters);
    case 'depthwise': return times(cin, int(c.depth_multiplier) ?? 1);
    default: return null;
  }
}

/**
 * Every layer's expected weight shapes by name, for the layers `kindOf` knows. Input channels
 * pass from layer to layer inside a Sequential (whose layers have no `inbound_nodes`); a nested
 * model starts afresh and its successor's input is unknown, as is every functional layer's
 * beyond what it declares itself.
 */
export function configShapes(topology: unknown, kindOf: (className: string) => LayerKind | undefined): Map<string, ExpectedShapes> {
  const out = new Map<string, ExpectedShapes>();
  const visit = (node: unknown): void => {
    const n = node as { model_config?: unknown; config?: unknown };
    if (!n || typeof n !== 'object') return;
    if (n.model_config) { visit(n.model_config); return; }
    const list = Array.isArray(n.config) ? n.config : (n.config as Json | undefined)?.layers;
    if (!Array.isArray(list)) return;
    let previous: number | null = null;
    for (const l of list as ConfigLayer[]) {
      if (!l || typeof l !== 'object') { previous = null; continue; }
      if ((l.config as Json | undefined)?.layers) { visit(l); previous = null; continue; }
      const c = l.config ?? {};
      const declared = lastDim((l.build_config as Json | undefined)?.input_shape) ?? lastDim(c.batch_input_shape) ?? lastDim(c.batch_shape);
      const functional = Array.isArray(l.inbound_nodes);
      const cin: number | null = declared ?? (functional ? null : previous);
      const kind = kindOf(jsonText(l.class_name));
      if (kind && typeof c.name === 'string') out.set(c.name, expectedShapes(l, kind, cin));
      previous = functional ? null : outputDim(l, kind, cin);
    }
  };
  visit(topology);
  return out;
}

/** Whether a stored shape is one the config allows. */
export function shapeAgrees(stored: number[], expected: Dims): boolean {
  return stored.length === expected.length && expected.every((d, i) => d === null || d === stored[i]);
}

/** A shape as refusals print it: 64×48, with ? for a dimension the config leaves open. */
export function showDims(d: Dims): string {
  return d.length === 0 ? 'a scalar' : d.map((x) => x ?? '?').join('×');
}
