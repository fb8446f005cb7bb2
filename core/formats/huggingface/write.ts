// Writes a reduced Hugging Face model folder: the weights as the safetensors writer writes them
// (factor pairs as nn.Sequential entries, under the input's file names), the carried files
// copied, and the loader. The folder appears only when the job commits (OutputSink.folder).
import { createReadStream } from 'node:fs';
import { basename, join } from 'node:path';
import type { Writer } from '../../compress/types.js';
import { workerScript } from '../../engines/torchWorker.js';
import { safetensors } from '../safetensors/format.js';
import { LOADER, type FolderModel } from './folder.js';

export const writeFolder: Writer<FolderModel> = async (model, factors, out, sink, opts) => {
  await sink.folder(out);
  const { weights, carried } = model.extra;
  await safetensors.write!(weights, factors, join(out, basename(weights.path)), sink, opts);
  for (const path of [...carried, workerScript(LOADER)]) {
    const file = await sink.file(join(out, basename(path)));
    // Streamed: a carried file is usually kilobytes, but nothing bounds what else a folder holds.
    for await (const chunk of createReadStream(path)) await file.write(chunk as Buffer);
  }
};
