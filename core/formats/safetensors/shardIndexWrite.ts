// Writes a factorised sharded safetensors model: one output shard per input shard (each a
// safetensors file written like a single-file one, its `__metadata__.reducible` listing the
// modules factorised in it), then the index with the new weight_map and total_size.
import { basename, dirname, join } from 'node:path';
import type { Writer } from '../../compress/types.js';
import { InputError } from '../../types.js';
import { INDEX_SUFFIX, isSafetensorsIndex, type IndexExtra } from './shardIndex.js';
import { writeSafetensorsFile } from './write.js';
import type { StoredModel } from '../storedModel.js';

export const writeSafetensorsIndex: Writer<StoredModel<IndexExtra>> = async (model, factors, out, sink, opts) => {
  const { shards, indexMetadata } = model.extra;
  const name = basename(out);
  // `x.reduced.safetensors.index.json` → shards `x.reduced-00001-of-00002.safetensors`, the Hugging Face pattern.
  const stem = isSafetensorsIndex(name) ? name.slice(0, -INDEX_SUFFIX.length) : name.replace(/\.json$/i, '');
  const count = String(shards.length).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (const [i, shard] of shards.entries()) {
    const file = `${stem}-${String(i + 1).padStart(5, '0')}-of-${count}.safetensors`;
    const { names, dataBytes } = await writeSafetensorsFile(model.path, shard.tensors, shard.metadata, factors, join(dirname(out), file), sink, opts);
    for (const n of names) {
      if (n in weightMap) throw new InputError(model.path, `cannot write ${n} into ${file}: shard ${weightMap[n]} already holds a tensor of that name`);
      weightMap[n] = file;
    }
    totalSize += dataBytes;
  }
  const index = { metadata: { ...indexMetadata, total_size: totalSize }, weight_map: weightMap };
  const file = await sink.file(out);
  await file.write(new TextEncoder().encode(`${JSON.stringify(index, null, 2)}\n`));
};
