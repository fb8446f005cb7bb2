// Writes a factorised Keras model in the layout it was read from (see keras.ts): the config
// gains the layer pairs (kerasConfig.ts) and the weights file is rebuilt through h5wasm in a
// temporary folder, copying every untouched dataset and attribute, then streamed to the sink
// (as is for `.h5`, inside the zip for `.keras`). Rebuilding rather than editing in place
// matters: HDF5 never gives back the space of deleted datasets. The optimizer state is
// dropped: it describes variables that no longer exist (Keras warns and starts it afresh).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { Dataset, File, Group } from 'h5wasm/node';
import type { Factorisation, OutputFile, OutputSink, WriteOptions } from '../compress/types.js';
import { DTYPE_BYTES } from '../io/decode.js';
import type { DType, Layer } from '../types.js';
import { InputError } from '../types.js';
import { CONFIG_ENTRY, WEIGHTS_ENTRY, fileChunks, writeKerasArchive } from './kerasArchive.js';
import { type SplitSpec, splitConfig, uName, vName } from './kerasConfig.js';
import { datasetDType, isDataset, isGroup, nameListAttr, openH5, readDatasetBytes, writeDataset, writeNameListAttr } from './kerasHdf5.js';
import { KerasModel } from './keras.js';
import type { StoredModel } from './storedModel.js';

interface Stored { bytes: Uint8Array; dtype: DType; shape: number[] }
/** One factorised layer: the datasets of L_u and L_v, in Keras' variable order. */
interface Split { layer: Layer; u: Stored[]; v: Stored[] }

export async function writeKeras(model: StoredModel, factors: Map<string, Factorisation>, out: string, sink: OutputSink, opts: WriteOptions): Promise<void> {
  if (!(model instanceof KerasModel)) throw new Error(`${model.path}: not read by the Keras reader`);
  if (opts.dtype && opts.dtype !== 'f32') {
    throw new InputError(out, `--dtype ${opts.dtype} is not available for Keras files: h5wasm can only create float32/float64 datasets`);
  }
  const file = await sink.file(out);
  const splits = new Map<string, Split>();
  for (const f of factors.values()) splits.set(f.layer.name, await split(model, f, out));
  const specs = new Map<string, SplitSpec>([...splits].map(([n, s]) => [n, { kind: s.layer.kind, rank: s.u[0].shape.at(-1)! }]));
  const config = splitConfig(model.extra.config, specs);
  const dir = await mkdtemp(join(tmpdir(), 'reducible-keras-out-'));
  try {
    const weights = join(dir, 'weights.h5');
    const dst = await openH5(weights, 'w', out);
    try {
      if (model.format === 'keras-h5') await writeLegacy(model.extra.h5, dst, splits, JSON.stringify(config), out);
      else await writeV3(model.extra.h5, dst, splits, out);
    } finally {
      dst.close();
    }
    if (model.format === 'keras-h5') await pipe(fileChunks(weights), file);
    else await writeKerasArchive(file, archiveEntries(model, JSON.stringify(config), weights));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function archiveEntries(model: KerasModel, config: string, weights: string): [string, Uint8Array | AsyncIterable<Uint8Array>][] {
  const entries = [...model.extra.archive!.entries];
  return entries.map(([name, bytes]) => [name,
    name === CONFIG_ENTRY ? new TextEncoder().encode(config) : name === WEIGHTS_ENTRY ? fileChunks(weights) : bytes]);
}

async function pipe(chunks: AsyncIterable<Uint8Array>, out: OutputFile): Promise<void> {
  for await (const c of chunks) await out.write(c);
}

/** The factors as datasets, in the kernel's precision (Keras loads weights as the layer dtype). */
async function split(model: KerasModel, f: Factorisation, out: string): Promise<Split> {
  const { layer, rank: k } = f;
  const dtype = layer.dtype;
  if (dtype !== 'float32' && dtype !== 'float64') throw new InputError(out, `layer ${layer.name}: cannot write ${dtype} weights (h5wasm creates float32/float64 datasets only)`);
  const encode = (v: Float32Array, shape: number[]): Stored => {
    const typed = dtype === 'float64' ? Float64Array.from(v) : v;
    return { bytes: new Uint8Array(typed.buffer.slice(typed.byteOffset, typed.byteOffset + typed.byteLength)), dtype, shape };
  };
  const { rows, cols } = layer.matrix;
  const spatial = layer.kind === 'dense' || layer.kind === 'embedding' ? [] : layer.shape.slice(0, -2);
  const u = encode(f.a, layer.kind === 'dense' || layer.kind === 'embedding' ? [rows, k] : [...layer.shape.slice(0, -1), k]);
  const v = [encode(f.b, [...spatial.map(() => 1), k, cols])];
  if (layer.bias) {
    const t = model.tensor(layer.bias);
    v.push({ bytes: await t.source.read(t.offset, t.storedBytes), dtype: t.dtype, shape: t.shape });
  }
  return { layer, u: [u], v };
}

// ---- legacy .h5 ---------------------------------------------------------------------------

async function writeLegacy(src: File, dst: File, splits: Map<string, Split>, config: string, out: string): Promise<void> {
  copyAttrs(src, dst, ['model_config'], out);
  dst.create_attribute('model_config', config);
  const srcWeights = src.get('model_weights') as Group;
  const dstWeights = dst.create_group('model_weights');
  copyAttrs(srcWeights, dstWeights, ['layer_names'], out);
  const layerNames: string[] = [];
  for (const g of nameListAttr(srcWeights, 'layer_names')) {
    const srcGroup = srcWeights.get(g);
    if (!isGroup(srcGroup)) throw new InputError(out, `layer group model_weights/${g} is missing`);
    const top = splits.get(g);
    if (top && nameListAttr(srcGroup, 'weight_names').every((w) => isWeightOf(top.layer, `model_weights/${g}/${w}`))) {
      // The layer is a top-level one: its group becomes the groups of L_u and L_v.
      const names = legacyNames(top, `model_weights/${g}/`);
      for (const [group, weights, stored] of [[uName(g), names.u, top.u], [vName(g), names.v, top.v]] as const) {
        const dg = dstWeights.create_group(group);
        writeNameListAttr(dg, 'weight_names', [...weights]);
        weights.forEach((w, i) => put(dg, w, stored[i], out));
        layerNames.push(group);
      }
      continue;
    }
    const dg = dstWeights.create_group(g);
    copyAttrs(srcGroup, dg, ['weight_names'], out);
    const weightNames: string[] = [];
    for (const w of nameListAttr(srcGroup, 'weight_names')) {
      const path = `model_weights/${g}/${w}`;
      const inner = [...splits.values()].find((s) => isWeightOf(s.layer, path));
      if (!inner) {
        await copyDataset(src, path, dg, w, out);
        weightNames.push(w);
      } else if (inner.layer.weight === path) {
        // A layer inside a nested model: its weights are replaced where they stood.
        const names = legacyNames(inner, `model_weights/${g}/`);
        names.u.forEach((n, i) => put(dg, n, inner.u[i], out));
        names.v.forEach((n, i) => put(dg, n, inner.v[i], out));
        weightNames.push(...names.u, ...names.v);
      }
    }
    writeNameListAttr(dg, 'weight_names', weightNames);
    layerNames.push(g);
  }
  writeNameListAttr(dstWeights, 'layer_names', layerNames);
  for (const key of src.keys()) {
    if (key === 'model_weights' || key === 'optimizer_weights') continue;
    const child = src.get(key);
    if (isGroup(child)) await copyGroup(child, dst.create_group(key), out);
    else await copyDataset(src, key, dst, key, out);
  }
}

const isWeightOf = (layer: Layer, path: string): boolean => layer.weight === path || layer.bias === path;

/**
 * Weight names for L_u and L_v in the style of L's own (`dense/kernel:0` → `dense_u/kernel:0`,
 * `dense_v/kernel:0`, `dense_v/bias:0`): the scope named L is renamed; the pointwise layer
 * after an Embedding is a Dense, so its leaf is `kernel`.
 */
function legacyNames(s: Split, prefix: string): { u: string[]; v: string[] } {
  const rename = (path: string, layer: string, leaf?: string): string => {
    const parts = path.slice(prefix.length).split('/');
    const i = parts.lastIndexOf(s.layer.name);
    if (i >= 0) parts[i] = layer; else parts.unshift(layer);
    if (leaf) parts[parts.length - 1] = parts[parts.length - 1].replace(/^[^:]+/, leaf);
    return parts.join('/');
  };
  const v = [rename(s.layer.weight, vName(s.layer.name), 'kernel')];
  if (s.layer.bias) v.push(rename(s.layer.bias, vName(s.layer.name)));
  return { u: [rename(s.layer.weight, uName(s.layer.name))], v };
}

// ---- Keras 3 .keras -----------------------------------------------------------------------

async function writeV3(src: File, dst: File, splits: Map<string, Split>, out: string): Promise<void> {
  // A split layer's group is `…/layers/<name>`; its pair is written beside it.
  const groups = new Map([...splits.values()].map((s) => [`/${s.layer.weight.replace(/\/vars\/0$/, '')}`, s]));
  await copyGroup(src, dst, out, (path) => path === '/optimizer' || groups.has(path));
  for (const [path, s] of groups) {
    const parent = posix.dirname(path);
    for (const [name, stored] of [[uName(s.layer.name), s.u], [vName(s.layer.name), s.v]] as const) {
      const vars = requireGroup(dst, `${parent}/${name}/vars`);
      stored.forEach((t, i) => put(vars, String(i), t, out));
    }
  }
}

// ---- HDF5 copying -------------------------------------------------------------------------

async function copyGroup(src: Group, dst: Group, out: string, skip: (path: string) => boolean = () => false): Promise<void> {
  copyAttrs(src, dst, [], out);
  for (const key of src.keys()) {
    const child = src.get(key);
    if (!child || skip((child as Group).path)) continue;
    if (isGroup(child)) await copyGroup(child, dst.create_group(key), out, skip);
    else if (isDataset(child)) await copyDataset(src, key, dst, key, out);
    else throw new InputError(out, `cannot copy ${src.path}/${key}: links and named types are not supported`);
  }
}

async function copyDataset(srcRoot: Group, srcPath: string, dst: Group, name: string, out: string): Promise<void> {
  const ds = srcRoot.get(srcPath);
  if (!isDataset(ds)) throw new InputError(out, `weight ${srcPath} is missing from the source file`);
  const dtype = datasetDType(ds);
  if (!dtype) throw new InputError(out, `cannot copy ${ds.path}: its element type is not a plain number`);
  const written = put(dst, name, { bytes: await readDatasetBytes(ds, out), dtype, shape: ds.shape ?? [] }, out);
  copyAttrs(ds, written, [], out);
}

/** Writes a dataset at `path` below `group`, creating the groups on the way. */
function put(group: Group, path: string, t: Stored, out: string): Dataset {
  if (t.bytes.byteLength !== t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype]) throw new Error(`${path}: bytes do not match shape ${t.shape.join('×')}`);
  const dir = posix.dirname(path);
  return writeDataset(dir === '.' ? group : requireGroup(group, dir), posix.basename(path), t.bytes, t.dtype, t.shape, out);
}

function requireGroup(root: Group, path: string): Group {
  let g = root;
  for (const part of path.split('/').filter(Boolean)) {
    const next = g.get(part);
    g = isGroup(next) ? next : g.create_group(part);
  }
  return g;
}

function copyAttrs(src: Group | Dataset, dst: Group | Dataset, skip: string[], out: string): void {
  for (const [name, attr] of Object.entries(src.attrs)) {
    if (skip.includes(name)) continue;
    const m = attr.metadata;
    const value = attr.value;
    if (m.type === 3) {
      const strings = value as string | string[];
      if (m.vlen) dst.create_attribute(name, strings);
      else dst.create_attribute(name, strings, m.shape, `A${m.size + 1}`);
    } else if (m.type === 0 || m.type === 1) {
      dst.create_attribute(name, (ArrayBuffer.isView(value) ? value : [value]) as Float64Array, m.shape, attr.dtype as string);
    } else {
      throw new InputError(out, `cannot copy attribute ${src.path}@${name}: unsupported type`);
    }
  }
}
