// PyTorch checkpoints written by torch.save (zip format, torch ≥ 1.6): `<archive>/data.pkl`
// describes the state dict, `<archive>/data/<key>` hold the raw storages. The pickle is
// parsed against a whitelist, never executed; tensors point into the zip lazily.
import { extname } from 'node:path';
import { FileSource, type ByteSource } from '../../io/byteSource.js';
import { DTYPE_BYTES, checkedSize } from '../../io/decode.js';
import { InputError } from '../../types.js';
import { parsePickle } from '../containers/pickle.js';
import { findStateDict, torchHooks, type TensorRecord } from './pickleVocabulary.js';
import { isZip, quoted, ZipArchive, type EntryStream, type ZipEntry } from '../containers/zip.js';
import { stateDictLayers } from '../safetensors/read.js';
import { StoredModel, type StoredTensor } from '../storedModel.js';

const MAX_PICKLE = 100 * 1024 * 1024;

/** A torch.save checkpoint: its tensors are all there is (no extras). */
export type PytorchModel = StoredModel;

export async function readPytorch(path: string): Promise<PytorchModel> {
  const src = await FileSource.open(path);
  try {
    if (!(await isZip(src))) throw new InputError(path, await notZipReason(src, path));
    const zip = await ZipArchive.open(src, path);
    const pickles = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pickles.length !== 1) throw new InputError(path, 'zip is not a torch.save checkpoint (expected one <archive>/data.pkl)');
    const root = pickles[0].slice(0, -'data.pkl'.length);
    const byteorder = zip.entries.get(`${root}byteorder`);
    if (byteorder && new TextDecoder().decode(await zip.read(byteorder, 16)).trim() !== 'little') {
      throw new InputError(path, 'big-endian checkpoints are not supported');
    }
    const value = parsePickle(await zip.read(zip.entries.get(pickles[0])!, MAX_PICKLE), path, torchHooks(path));
    const dict = findStateDict(value);
    if (!dict?.size) throw new InputError(path, 'checkpoint holds no tensors');
    const storages = new Map<string, ByteSource>();
    const tensors: StoredTensor[] = [];
    for (const [name, rec] of dict) {
      const entry = zip.entries.get(`${root}data/${rec.storage.key}`);
      if (!entry) throw new InputError(path, `tensor ${name}: storage ${rec.storage.key} is missing from the archive`);
      const t = locate(path, name, rec, entry);
      let source = storages.get(entry.name);
      if (!source) storages.set(entry.name, source = entry.method === 0 ? src : new InflatedSource(zip.inflated(entry)));
      tensors.push({ ...t, source, offset: t.offset + (entry.method === 0 ? entry.dataOffset : 0) });
    }
    return new StoredModel({
      format: 'pytorch', path, files: [path], fileBytes: src.size, tensors,
      layers: stateDictLayers(tensors), sources: [src], extra: undefined,
    });
  } catch (e) {
    await src.close();
    throw e;
  }
}

/** A tensor's byte range inside its storage entry, after checking it is contiguous and in bounds. */
function locate(path: string, name: string, rec: TensorRecord, entry: ZipEntry): Omit<StoredTensor, 'source'> {
  const dtype = rec.storage.type.dtype;
  if (!dtype) throw new InputError(path, `tensor ${name} has unsupported element type ${rec.storage.type.name}`);
  const width = DTYPE_BYTES[dtype];
  const count = checkedSize(rec.shape)!;
  let expected = 1;
  for (let d = rec.shape.length - 1; d >= 0; d--) {
    if (rec.shape[d] !== 1 && count > 0 && rec.stride[d] !== expected) {
      throw new InputError(path, `tensor ${name} is not contiguous (shape ${rec.shape.join('×')}, stride ${rec.stride.join(',')}); save it after .contiguous()`);
    }
    expected *= rec.shape[d];
  }
  const end = (rec.offset + count) * width;
  if (rec.offset + count > rec.storage.numel || end > entry.size) {
    throw new InputError(path, `tensor ${name} runs past the end of its storage ${rec.storage.key}`);
  }
  // A deflated storage is inflated against what the pickle says it holds (numel × element
  // width), the per-tensor cap: an entry declaring more is refused before a byte is inflated,
  // and the stream is stopped at the first byte past the entry's size (zip.ts EntryStream).
  if (entry.method === 8 && entry.size > rec.storage.numel * width) {
    throw new InputError(path, `zip entry ${quoted(entry.name)} declares ${entry.size} bytes, but storage ${rec.storage.key} of tensor ${name} holds ${rec.storage.numel * width} (${rec.storage.numel} × ${dtype})`);
  }
  return { name, shape: rec.shape, dtype, storedBytes: count * width, offset: rec.offset * width };
}

async function notZipReason(src: ByteSource, path: string): Promise<string> {
  const first = src.size ? (await src.read(0, 1))[0] : -1;
  if (first === 0x80) return 'legacy (pre-1.6, non-zip) PyTorch checkpoint: not supported; re-save it with a current torch.save';
  return extname(path).toLowerCase() === '.bin'
    ? 'not a PyTorch zip checkpoint (a TF.js weight shard is opened through its model.json)'
    : 'not a PyTorch zip checkpoint';
}

/** A deflated storage, inflated as reads reach into it (never whole: zip.ts EntryStream). */
class InflatedSource implements ByteSource {
  constructor(private readonly stream: EntryStream) {}
  get size(): number { return this.stream.size; }
  read(offset: number, length: number): Promise<Uint8Array> { return this.stream.read(offset, length); }
  async close(): Promise<void> { /* the archive's file is closed with the model */ }
}
