// Writing a factorised TF.js model (layers or graph): the model JSON with its rewritten
// topology and one weights shard, in which each factorised weight is replaced by its
// factors and every other tensor is copied byte for byte with its manifest entry.
import { basename, dirname, join } from 'node:path';
import { checkRetrainedWritten, type Factorisation, type OutputSink, type WriteOptions } from '../../compress/types.js';
import { encodeFloat16, encodeFloat32, encodeUint8Affine, type Encoded } from '../quantize.js';
import type { StoredTensor } from '../storedModel.js';
import type { TfjsModel } from './read.js';
import type { ManifestWeight } from './read.js';

/** A factor as the writer stores it: values laid out in `shape`, row-major. */
export interface FactorTensor { name: string; shape: number[]; values: Float32Array }

/** What differs between layers and graph models; the weight file itself is written alike. */
export interface TfjsLayout {
  /** The model JSON's `modelTopology` with the factorised layers/nodes in place. */
  topology: unknown;
  /** The tensors that take the place of factorised layer `f`'s weight `weight`, in order. */
  factorTensors(f: Factorisation, weight: StoredTensor): FactorTensor[];
  /** The name the layer's bias has in the output. */
  biasName(f: Factorisation): string;
}

/** `model.json` → `model.reduced.json` + `model.reduced.weights.bin`. */
function weightsPathFor(out: string): string {
  return join(dirname(out), `${basename(out).replace(/\.json$/, '')}.weights.bin`);
}

/** Factors get the requested storage precision, else the source tensor's (a quantised model stays quantised). */
function encodeLike(values: Float32Array, source: StoredTensor, opts: WriteOptions): Encoded {
  const target = opts.dtype ?? (source.dtype === 'uint8' || source.dtype === 'uint16' ? 'int8' : source.dtype === 'float16' ? 'f16' : 'f32');
  return target === 'f16' ? encodeFloat16(values) : target === 'int8' ? encodeUint8Affine(values) : encodeFloat32(values);
}

function manifestEntry(name: string, shape: number[], e: Encoded): ManifestWeight {
  const w: ManifestWeight = { name, shape, dtype: 'float32' };
  if (e.dtype === 'float16') w.quantization = { dtype: 'float16' };
  if (e.dtype === 'uint8') w.quantization = { dtype: 'uint8', scale: e.scale, min: e.min };
  return w;
}

/** An untouched tensor's entry, describing its stored bytes exactly as the source did. */
function copiedEntry(name: string, t: StoredTensor): ManifestWeight {
  const entry: ManifestWeight = { name, shape: t.shape, dtype: t.affine || t.dtype === 'float16' ? 'float32' : t.dtype };
  if (t.affine) entry.quantization = { dtype: t.dtype as 'uint8' | 'uint16', scale: t.affine.scale, min: t.affine.min };
  else if (t.dtype === 'float16') entry.quantization = { dtype: 'float16' };
  return entry;
}

export async function writeTfjsFiles(model: TfjsModel, factors: Map<string, Factorisation>, out: string, sink: OutputSink, opts: WriteOptions, layout: TfjsLayout): Promise<void> {
  const weightsPath = weightsPathFor(out);
  const bin = await sink.file(weightsPath);
  const manifest: ManifestWeight[] = [];
  const replaced = new Map<string, Factorisation>();
  const biasOwner = new Map<string, Factorisation>();
  for (const f of factors.values()) {
    replaced.set(f.layer.weight, f);
    if (f.layer.bias) biasOwner.set(f.layer.bias, f);
  }
  for (const t of model.tensors) {
    const f = replaced.get(t.name);
    if (f) {
      for (const factor of layout.factorTensors(f, t)) {
        const e = encodeLike(factor.values, t, opts);
        await bin.write(e.bytes);
        manifest.push(manifestEntry(factor.name, factor.shape, e));
      }
      continue;
    }
    const owner = biasOwner.get(t.name);
    const name = owner ? layout.biasName(owner) : t.name;
    const values = owner ? owner.bias : opts.retrained?.get(t.name);
    if (values) {
      const e = encodeLike(values, t, {}); // trained tensors keep their stored precision, as predicted
      await bin.write(e.bytes);
      manifest.push(manifestEntry(name, t.shape, e));
      continue;
    }
    await bin.write(await t.source.read(t.offset, t.storedBytes));
    manifest.push(copiedEntry(name, t));
  }
  checkRetrainedWritten(opts, (name) => model.tensors.some((t) => t.name === name), model.path);
  const json = model.extra;
  const outJson = { ...json, modelTopology: layout.topology, weightsManifest: [{ paths: [basename(weightsPath)], weights: manifest }] };
  const main = await sink.file(out);
  await main.write(new TextEncoder().encode(JSON.stringify(outJson)));
}
