// Keras model files, read through h5wasm in a worker thread (containers/h5Remote.ts; containers/h5wasm.ts for its limits).
//
// Legacy `.h5` (Keras 2 `model.save('m.h5')`): root attributes `model_config` (the model's
// JSON), `keras_version`, `backend`; group `model_weights` lists its layer groups in the
// attribute `layer_names`, and each layer group lists its datasets in `weight_names`
// (`dense/kernel:0`, `lstm/lstm_cell/kernel:0`, for a nested model `dense_3/kernel:0` inside
// the nested model's group), each stored at `model_weights/<group>/<weight name>`.
//
// Keras 3 `.keras`: a zip (keras/archive.ts) whose `model.weights.h5` holds one group per
// saveable, `vars/<i>` numbered in the layer's variable order: `layers/<name>/vars/0` is a
// kernel, `…/1` its bias; recurrent layers keep theirs in `layers/<name>/cell/vars/…`;
// nested models nest as `layers/<model>/layers/<name>/…`; `optimizer/vars/…` is the
// optimizer state. Layer names are unique within a model, which is what finds a layer's group.
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ByteSource } from '../../io/byteSource.js';
import { DTYPE_BYTES } from '../../io/decode.js';
import type { Layer, LayerKind } from '../../types.js';
import { InputError } from '../../types.js';
import { type KerasArchive, WEIGHTS_ENTRY, readKerasArchive } from './archive.js';
import { RemoteH5 } from '../containers/h5Remote.js';
import { type H5Dataset, type H5Group, child, nameListAttr, stringAttr } from '../containers/h5Tree.js';
import { configShapes, shapeAgrees, showDims } from './shapes.js';
import { StoredModel, type MatrixLayout, type StoredModelInit, type StoredTensor } from '../storedModel.js';
import { KERNEL_NAMES, LAYER_KINDS, kerasLayer, kerasLayers } from '../tfjs/read.js';
import { makeTemporaryFolder, removeTemporaryFolder } from '../../io/temporaries.js';
import { jsonNumber, jsonText } from '../../text/jsonText.js';

export interface KerasExtra {
  /** The model's `{class_name, config}` JSON, as stored. */
  config: unknown;
  /** The open weights file: the `.h5` itself, or the archive's weights copied to `tempDir`. */
  h5: RemoteH5;
  archive?: KerasArchive;
}

export class KerasModel extends StoredModel<KerasExtra> {
  constructor(init: StoredModelInit<KerasExtra>, private readonly tempDir?: string) { super(init); }

  override async close(): Promise<void> {
    await super.close();
    try {
      await this.extra.h5.close();
    } finally {
      if (this.tempDir) await removeTemporaryFolder(this.tempDir);
    }
  }
}

export async function readKerasH5(path: string): Promise<KerasModel> {
  const full = resolve(path);
  const { size } = await stat(full);
  const h5 = await RemoteH5.open(full, path);
  try {
    const text = stringAttr(h5.root, 'model_config', path);
    if (typeof text !== 'string') throw new InputError(path, 'no model_config attribute: a weights-only file (save_weights) has no architecture; save the whole model');
    const config = parseConfig(text, path, 'model_config');
    const weights = child(h5.root, 'model_weights');
    if (weights?.kind !== 'group') throw new InputError(path, 'no model_weights group');
    const { tensors, unreadable } = collectTensors(h5, weights);
    const layers = kerasModelLayers(config, path, (l) => [legacyWeights(tensors, l), legacyWeights(unreadable, l)]);
    return new KerasModel({ format: 'keras-h5', path, files: [path], fileBytes: size, tensors, layers, sources: [], extra: { config, h5 } });
  } catch (e) {
    await closeAfterRefusal(h5);
    throw e;
  }
}

export async function readKeras(path: string): Promise<KerasModel> {
  const tempDir = await makeTemporaryFolder(join(tmpdir(), 'reducible-keras-'));
  let h5: RemoteH5 | undefined;
  try {
    const weightsPath = join(tempDir, WEIGHTS_ENTRY);
    const archive = await readKerasArchive(path, weightsPath);
    h5 = await RemoteH5.open(weightsPath, `${path}:${WEIGHTS_ENTRY}`);
    const all = collectTensors(h5, h5.root);
    // The optimizer's state is training bookkeeping, not part of the model's parameters.
    const tensors = all.tensors.filter((t) => !t.name.startsWith('optimizer/'));
    const layers = kerasModelLayers(archive.config, path, (l) => [v3Weights(tensors, l), v3Weights(all.unreadable, l)]);
    const { size } = await stat(path);
    return new KerasModel({ format: 'keras', path, files: [path], fileBytes: size, tensors, layers, sources: [], extra: { config: archive.config, h5, archive } }, tempDir);
  } catch (e) {
    if (h5) await closeAfterRefusal(h5);
    await removeTemporaryFolder(tempDir);
    throw e;
  }
}

function parseConfig(text: string, path: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(path, `${what} is not valid JSON (${(e as Error).message})`);
  }
}

/** Closing a file libhdf5 just failed on can fail too; the refusal being thrown says what is wrong. */
async function closeAfterRefusal(h5: RemoteH5): Promise<void> {
  try { await h5.close(); } catch { /* see above */ }
}

/**
 * Reads one dataset on demand, in the HDF5 worker; tensors are offset 0 of their own source.
 * The worker hands over whole datasets, so a reader going through one in chunks is served
 * from the copy fetched for its first chunk until it reaches the end.
 */
class DatasetSource implements ByteSource {
  private held?: Uint8Array;
  constructor(private readonly h5: RemoteH5, private readonly path: string, readonly size: number) {}
  async read(offset: number, length: number): Promise<Uint8Array> {
    const bytes = this.held ?? await this.h5.read(this.path, this.size);
    if (offset === 0 && length >= bytes.length) return bytes;
    this.held = offset + length >= bytes.length ? undefined : bytes;
    return bytes.subarray(offset, offset + length);
  }
  async close(): Promise<void> { this.held = undefined; }
}

/** A dataset whose elements are not numbers Reducible reads (strings, compounds, exotic integers). */
interface UnreadableDataset { name: string; node: H5Dataset }

/**
 * Every numeric dataset under `root`, named by its path in the file without the leading '/',
 * and the datasets of other element types, so that a layer whose weight is one is refused.
 */
function collectTensors(h5: RemoteH5, root: H5Group): { tensors: StoredTensor[]; unreadable: UnreadableDataset[] } {
  const tensors: StoredTensor[] = [];
  const unreadable: UnreadableDataset[] = [];
  const visit = (g: H5Group): void => {
    for (const c of g.children) {
      if (c.kind === 'group') visit(c);
      else if (c.kind === 'dataset' && c.dtype && c.shape) {
        const storedBytes = c.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[c.dtype];
        tensors.push({ name: c.path.replace(/^\//, ''), shape: c.shape, dtype: c.dtype, storedBytes, offset: 0, source: new DatasetSource(h5, c.path, storedBytes) });
      } else if (c.kind === 'dataset') {
        unreadable.push({ name: c.path.replace(/^\//, ''), node: c });
      }
    }
  };
  visit(root);
  return { tensors, unreadable };
}

interface LayerWeights<T = StoredTensor> { weight?: T; bias?: T }

/** What a dataset holds, for a refusal: HDF5 type classes other than integers and floats by name. */
function elementsOf(d: H5Dataset): string {
  const names: Record<number, string> = { 0: 'integers of a width Keras does not use', 1: 'floats of a width Keras does not use', 2: 'times', 3: 'strings', 4: 'bit fields', 5: 'opaque bytes', 6: 'compound records', 7: 'references', 8: 'enums', 9: 'variable-length sequences', 10: 'arrays' };
  return d.shape === null ? 'no data (an empty dataspace)' : names[d.typeClass] ?? `elements of HDF5 type class ${d.typeClass}`;
}

/**
 * Layers of the topology whose kernels are found by `find` (numeric datasets first, then the
 * others: a layer whose kernel or bias is not numeric is refused, not left out), with their
 * matrix views. Stored kernel and bias shapes must be what the layer's config implies.
 */
function kerasModelLayers(config: unknown, path: string, find: (l: KerasTopologyLayer) => [LayerWeights, LayerWeights<UnreadableDataset>]): (Layer & MatrixLayout)[] {
  if (!config || typeof config !== 'object') throw new InputError(path, 'model config is not a JSON object');
  const expected = configShapes(config, (c) => LAYER_KINDS[c]);
  const layers: (Layer & MatrixLayout)[] = [];
  for (const l of kerasLayers(config)) {
    const kind = LAYER_KINDS[l.class_name];
    const name = typeof l.config?.name === 'string' ? l.config.name : '';
    if (!kind || !name) continue;
    const [{ weight, bias }, odd] = find({ name, kind });
    for (const [role, d] of [['kernel', weight ? undefined : odd.weight], ['bias', bias ? undefined : odd.bias]] as const) {
      if (d) throw new InputError(path, `layer ${name}: ${role} dataset ${d.name} holds ${elementsOf(d.node)}, not the numbers of a weight`);
    }
    const shapes = expected.get(name);
    for (const [role, t, want] of [['kernel', weight, shapes?.kernel], ['bias', bias, shapes?.bias]] as const) {
      if (t && want && !shapeAgrees(t.shape, want)) {
        throw new InputError(path, `layer ${name}: ${role} ${t.name} is stored as ${showDims(t.shape)} but the layer's config says ${showDims(want)}`);
      }
    }
    if (!weight || weight.shape.length < 2 || !weight.dtype.startsWith('float')) continue;
    const layer = kerasLayer(name, kind, weight, bias);
    // A grouped conv's kernel holds `groups` separate matrices side by side, not one.
    if (jsonNumber(l.config.groups ?? 1) > 1) layer.factorisable = false;
    layers.push(layer);
  }
  return layers;
}

interface KerasTopologyLayer { name: string; kind: LayerKind }

/** Legacy weight names: `<…>/<layer>/<…>/<leaf>:0`; the layer's name is one of the scopes. */
function legacyWeights<T extends { name: string }>(tensors: T[], l: KerasTopologyLayer): LayerWeights<T> {
  const find = (leaf: string): T | undefined => tensors.find((t) => {
    const parts = t.name.split('/');
    return parts.at(-1)!.replace(/:\d+$/, '') === leaf && parts.slice(1, -1).includes(l.name);
  });
  return { weight: find(KERNEL_NAMES[l.kind] ?? 'kernel'), bias: find('bias') };
}

/** A Keras 3 variable: `…layers/<layer>/vars/<i>`, or `…/cell/vars/<i>` for a recurrent layer. */
const V3_VAR = /(?:^|\/)layers\/([^/]+)\/(?:cell\/)?vars\/(\d+)$/;

/** Keras 3: `…layers/<name>/vars/<i>` (recurrent layers: `…/cell/vars/<i>`), kernel first, then bias. */
function v3Weights<T extends { name: string }>(tensors: T[], l: KerasTopologyLayer): LayerWeights<T> {
  const vars = (index: number): T | undefined => tensors.find((t) => {
    const m = V3_VAR.exec(t.name);
    return m !== null && m[1] === l.name && Number(m[2]) === index;
  });
  const recurrent = l.kind === 'lstm' || l.kind === 'gru';
  return { weight: vars(0), bias: recurrent || l.kind === 'embedding' ? undefined : vars(1) };
}

/**
 * Every layer's weights by layer name, in Keras' order (what `layer.weights` lists and
 * `set_weights` takes): legacy files in `weight_names` order, a weight belonging to the
 * first of its scopes that names a layer; Keras 3 files in `vars` index order.
 */
export function weightsByLayer(model: KerasModel): Map<string, string[]> {
  const layerNames = new Set(kerasLayers(model.extra.config).map((l) => jsonText(l.config?.name)));
  const out = new Map<string, string[]>();
  const add = (layer: string, tensor: string): void => { out.set(layer, [...(out.get(layer) ?? []), tensor]); };
  if (model.format === 'keras-h5') {
    const weights = child(model.extra.h5.root, 'model_weights');
    if (weights?.kind !== 'group') return out;
    for (const g of nameListAttr(weights, 'layer_names', model.path)) {
      const group = child(weights, g);
      if (group?.kind !== 'group') continue;
      for (const w of nameListAttr(group, 'weight_names', model.path)) add(w.split('/').slice(0, -1).find((s) => layerNames.has(s)) ?? g, `model_weights/${g}/${w}`);
    }
    return out;
  }
  const vars = model.tensors.map((t) => ({ t: t.name, m: V3_VAR.exec(t.name) }))
    .filter((x) => x.m !== null).sort((a, b) => Number(a.m![2]) - Number(b.m![2]));
  for (const { t, m } of vars) add(m![1], t);
  return out;
}
