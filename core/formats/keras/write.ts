// Writes a factorised Keras model in the layout it was read from (see keras/read.ts): the config
// gains the layer pairs (keras/config.ts) and the weights file is rebuilt through h5wasm in a
// temporary folder, copying every untouched dataset and attribute (read from the source's
// snapshot and, for dataset bytes, through its HDF5 worker: containers/h5Remote.ts), then streamed to the sink
// (as is for `.h5`, inside the zip for `.keras`). Rebuilding rather than editing in place
// matters: HDF5 never gives back the space of deleted datasets. The optimizer state is
// dropped: it describes variables that no longer exist (Keras warns and starts it afresh).
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { Dataset, File, Group } from 'h5wasm/node';
import type { RemoteH5 } from '../containers/h5Remote.js';
import { type H5Group, type H5Node, child, nameListAttr } from '../containers/h5Tree.js';
import { loadAll } from '../../compress/factorSource.js';
import { checkRetrainedWritten, type Factorisation, type FactorSource, type OutputFile, type OutputSink, type WriteOptions } from '../../compress/types.js';
import { DTYPE_BYTES } from '../../io/decode.js';
import type { DType, Layer } from '../../types.js';
import { InputError } from '../../types.js';
import { encodeFloat16, encodeFloat32 } from '../quantize.js';
import { CONFIG_ENTRY, WEIGHTS_ENTRY, fileChunks, writeKerasArchive } from './archive.js';
import { type SplitSpec, kerasLayerOrder, nestedModel, splitConfig, uName, vName } from './config.js';
import { type HalfPatch, applyHalfPatches, createHalfStandIn } from './half.js';
import { isGroup, openH5, writeDataset, writeNameListAttr } from '../containers/h5wasm.js';
import type { KerasModel } from './read.js';
import { kerasLayers } from '../tfjs/read.js';
import { makeTemporaryFolder, removeTemporaryFolder } from '../../io/temporaries.js';
import { jsonText } from '../../text/jsonText.js';

interface Stored { bytes: Uint8Array; dtype: DType; shape: number[] }
/** One factorised layer: the datasets of L_u and L_v, in Keras' variable order. */
interface Split { layer: Layer; rank: number; u: Stored[]; v: Stored[] }

export async function writeKeras(model: KerasModel, factors: FactorSource, out: string, sink: OutputSink, opts: WriteOptions): Promise<void> {
  if (opts.dtype === 'int8') throw new InputError(out, '--dtype int8 is not available for Keras files: plain Keras layers load float weights only (use f16 or f32)');
  const file = await sink.file(out);
  const splits = new Map<string, Split>();
  // Every layer's datasets are built before the file is written.
  for (const f of (await loadAll(factors)).values()) splits.set(f.layer.name, await split(model, f, opts, out));
  const taken = new Set(kerasLayers(model.extra.config).map((l) => jsonText(l.config.name)));
  const clash = [...splits.keys()].flatMap((n) => [uName(n), vName(n)]).find((n) => taken.has(n));
  if (clash) throw new InputError(out, `the model already has a layer named ${clash}, the name a factorised layer would take`);
  const specs = new Map<string, SplitSpec>([...splits].map(([n, s]) => [n, { kind: s.layer.kind, rank: s.rank }]));
  const config = JSON.stringify(splitConfig(model.extra.config, specs));
  const dir = await makeTemporaryFolder(join(tmpdir(), 'reducible-keras-out-'));
  try {
    const weights = join(dir, 'weights.h5');
    const builder = new Builder(out, model.extra.h5, opts.retrained);
    const dst = await openH5(weights, 'w', out);
    try {
      if (model.format === 'keras-h5') await writeLegacy(builder, model.extra.h5.root, dst, splits, model.extra.config, config);
      else await writeV3(builder, model.extra.h5.root, dst, splits);
    } finally {
      dst.close();
    }
    checkRetrainedWritten(opts, (name) => builder.retrainedWritten.has(name), model.path);
    await applyHalfPatches(weights, builder.halves);
    if (model.format === 'keras-h5') await pipe(fileChunks(weights), file);
    else await writeKerasArchive(file, archiveEntries(model, config, weights));
  } finally {
    await removeTemporaryFolder(dir);
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

/** The factors as datasets: float16 when asked, else the kernel's precision (Keras casts to the layer dtype on load). */
async function split(model: KerasModel, f: Factorisation, opts: WriteOptions, out: string): Promise<Split> {
  const { layer, rank: k } = f;
  const dtype = opts.dtype === 'f16' ? 'float16' : layer.dtype;
  const { rows, cols } = layer.matrix;
  const matrixLike = layer.kind === 'dense' || layer.kind === 'embedding';
  const u = encode(f.a, dtype, matrixLike ? [rows, k] : [...layer.shape.slice(0, -1), k], out);
  const v = [encode(f.b, dtype, [...(matrixLike ? [] : layer.shape.slice(0, -2).map(() => 1)), k, cols], out)];
  if (layer.bias) {
    // The bias keeps its stored precision; fine-tuning may have replaced its values.
    const t = model.tensor(layer.bias);
    v.push(f.bias ? encode(f.bias, t.dtype, t.shape, out) : { bytes: await t.source.read(t.offset, t.storedBytes), dtype: t.dtype, shape: t.shape });
  }
  return { layer, rank: k, u: [u], v };
}

function encode(values: Float32Array, dtype: DType, shape: number[], out: string): Stored {
  if (dtype === 'float16') return { bytes: encodeFloat16(values).bytes, dtype, shape };
  if (dtype === 'float32') return { bytes: encodeFloat32(values).bytes, dtype, shape };
  if (dtype === 'float64') return { bytes: new Uint8Array(Float64Array.from(values).buffer), dtype, shape };
  throw new InputError(out, `cannot store ${dtype} weights in a Keras file`);
}

// ---- legacy .h5 ---------------------------------------------------------------------------

async function writeLegacy(b: Builder, src: H5Group, dst: File, splits: Map<string, Split>, original: unknown, config: string): Promise<void> {
  const out = b.out;
  const rewritten: unknown = JSON.parse(config);
  b.copyAttrs(src, dst, ['model_config']);
  dst.create_attribute('model_config', config);
  const srcWeights = child(src, 'model_weights');
  if (srcWeights?.kind !== 'group') throw new InputError(out, 'no model_weights group in the source file');
  const dstWeights = dst.create_group('model_weights');
  b.copyAttrs(srcWeights, dstWeights, ['layer_names']);
  const layerNames: string[] = [];
  for (const g of nameListAttr(srcWeights, 'layer_names', out)) {
    const srcGroup = child(srcWeights, g);
    if (srcGroup?.kind !== 'group') throw new InputError(out, `layer group model_weights/${g} is missing`);
    const top = splits.get(g);
    if (top && nameListAttr(srcGroup, 'weight_names', out).every((w) => isWeightOf(top.layer, `model_weights/${g}/${w}`))) {
      // The layer is a top-level one: its group becomes the groups of L_u and L_v.
      const names = legacyNames(top, `model_weights/${g}/`);
      for (const [group, weights, stored] of [[uName(g), names.u, top.u], [vName(g), names.v, top.v]] as const) {
        const dg = dstWeights.create_group(group);
        writeNameListAttr(dg, 'weight_names', [...weights]);
        weights.forEach((w, i) => b.put(dg, w, stored[i]));
        layerNames.push(group);
      }
      continue;
    }
    const dg = dstWeights.create_group(g);
    b.copyAttrs(srcGroup, dg, ['weight_names']);
    // A nested model lists its layers' trainable weights, then the others, each part in its
    // layer order: the part of each weight is read off the original list, where the layer
    // order restarts.
    const before = layerRank(nestedModel(original, g)), after = layerRank(nestedModel(rewritten, g));
    const weightNames: { name: string; part: number }[] = [];
    let part = 0, last = -Infinity;
    for (const w of nameListAttr(srcGroup, 'weight_names', out)) {
      if (before(w) < last) part++;
      last = before(w);
      const path = `model_weights/${g}/${w}`;
      const inner = [...splits.values()].find((s) => isWeightOf(s.layer, path));
      if (!inner) {
        await b.copyDataset(src, path, dg, w);
        weightNames.push({ name: w, part });
      } else if (inner.layer.weight === path) {
        const names = legacyNames(inner, `model_weights/${g}/`);
        names.u.forEach((n, i) => b.put(dg, n, inner.u[i]));
        names.v.forEach((n, i) => b.put(dg, n, inner.v[i]));
        weightNames.push(...[...names.u, ...names.v].map((name) => ({ name, part })));
      }
    }
    weightNames.sort((x, y) => x.part - y.part || after(x.name) - after(y.name));
    writeNameListAttr(dg, 'weight_names', weightNames.map((w) => w.name));
    layerNames.push(g);
  }
  // Keras loads the groups by position in its own layer order, which splitting may change.
  const order = new Map(kerasLayerOrder(rewritten).map((n, i) => [n, i]));
  const rank = (n: string): number => order.get(n) ?? order.size;
  writeNameListAttr(dstWeights, 'layer_names', [...layerNames].sort((a, b) => rank(a) - rank(b)));
  for (const c of src.children) {
    if (c.name === 'model_weights' || c.name === 'optimizer_weights') continue;
    if (c.kind === 'group') await b.copyGroup(c, dst.create_group(c.name));
    else await b.copyDataset(src, c.name, dst, c.name);
  }
}

/** A weight's rank by its layer's place in `model`'s Keras order (0 for all when `model` is not a model). */
function layerRank(model: unknown): (weight: string) => number {
  const order = new Map(model ? kerasLayerOrder(model).map((n, i) => [n, i]) : []);
  return (w) => order.get(w.split('/').slice(0, -1).find((s) => order.has(s)) ?? '') ?? 0;
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

async function writeV3(b: Builder, src: H5Group, dst: File, splits: Map<string, Split>): Promise<void> {
  // A split layer's group is `…/layers/<name>`; its pair is written beside it.
  const groups = new Map([...splits.values()].map((s) => [`/${s.layer.weight.replace(/\/vars\/0$/, '')}`, s]));
  await b.copyGroup(src, dst, (path) => path === '/optimizer' || groups.has(path));
  for (const [path, s] of groups) {
    const parent = posix.dirname(path);
    for (const [name, stored] of [[uName(s.layer.name), s.u], [vName(s.layer.name), s.v]] as const) {
      const vars = requireGroup(dst, `${parent}/${name}/vars`);
      stored.forEach((t, i) => b.put(vars, String(i), t));
    }
  }
}

// ---- HDF5 copying -------------------------------------------------------------------------

/**
 * Builds the output file: copies what is kept (with the values fine-tuning gave the layers left
 * dense, stored at their own precision), writes the factors, remembers float16 stand-ins.
 */
class Builder {
  readonly halves: HalfPatch[] = [];
  /** Names in `retrained` written so far. */
  readonly retrainedWritten = new Set<string>();
  constructor(readonly out: string, private readonly src: RemoteH5, private readonly retrained?: ReadonlyMap<string, Float32Array>) {}

  /** Writes a dataset at `path` below `group`, creating the groups on the way. */
  put(group: Group, path: string, t: Stored): void {
    if (t.bytes.byteLength !== t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype]) throw new Error(`${path}: bytes do not match shape ${t.shape.join('×')}`);
    const dir = posix.dirname(path);
    const parent = dir === '.' ? group : requireGroup(group, dir);
    if (t.dtype === 'float16') this.halves.push(createHalfStandIn(parent, posix.basename(path), t.bytes, t.shape));
    else writeDataset(parent, posix.basename(path), t.bytes, t.dtype, t.shape, this.out);
  }

  async copyGroup(src: H5Group, dst: Group, skip: (path: string) => boolean = () => false): Promise<void> {
    this.copyAttrs(src, dst, []);
    for (const c of src.children) {
      if (skip(c.path)) continue;
      if (c.kind === 'group') await this.copyGroup(c, dst.create_group(c.name), skip);
      else if (c.kind === 'dataset') await this.copyDataset(src, c.name, dst, c.name);
      else throw new InputError(this.out, `cannot copy ${c.path}: links and named types are not supported`);
    }
  }

  async copyDataset(srcRoot: H5Group, srcPath: string, dst: Group, name: string): Promise<void> {
    const ds = child(srcRoot, srcPath);
    if (ds?.kind !== 'dataset') throw new InputError(this.out, `weight ${srcPath} is missing from the source file`);
    const { dtype, shape } = ds;
    if (!dtype || !shape) throw new InputError(this.out, `cannot copy ${ds.path}: its element type is not a plain number`);
    // Named as the Keras reader names tensors: the dataset's path without its leading slash.
    const stored = ds.path.replace(/^\//, '');
    const trained = this.retrained?.get(stored);
    if (trained) this.retrainedWritten.add(stored);
    const bytes = trained ? encode(trained, dtype, shape, this.out).bytes : await this.src.read(ds.path, shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype]);
    this.put(dst, name, { bytes, dtype, shape });
    this.copyAttrs(ds, dst.get(name) as Dataset, []);
  }

  copyAttrs(src: H5Node, dst: Group | Dataset, skip: string[]): void {
    for (const attr of src.attrs) {
      const { name, value } = attr;
      if (skip.includes(name)) continue;
      if (attr.error) throw new InputError(this.out, `cannot copy attribute ${src.path}@${name} (${attr.error})`);
      if (attr.type === 3) {
        const strings = value as string | string[];
        if (attr.vlen) dst.create_attribute(name, strings);
        else dst.create_attribute(name, strings, attr.shape, `A${attr.size + 1}`);
      } else if ((attr.type === 0 || attr.type === 1) && attr.dtype) {
        dst.create_attribute(name, (ArrayBuffer.isView(value) ? value : [value]) as Float64Array, attr.shape, attr.dtype);
      } else {
        throw new InputError(this.out, `cannot copy attribute ${src.path}@${name}: unsupported type`);
      }
    }
  }
}

function requireGroup(root: Group, path: string): Group {
  let g = root;
  for (const part of path.split('/').filter(Boolean)) {
    const next = g.get(part);
    g = isGroup(next) ? next : g.create_group(part);
  }
  return g;
}
