// Identity of a model's bytes: sha256 over all of its files, so a moved or copied model
// reuses its cached analysis and an edited one never does.
import { createHash } from 'node:crypto';
import { FileSource } from '../core/io/byteSource.js';

const CHUNK = 1 << 20;

export async function contentHash(files: string[]): Promise<string> {
  const hash = createHash('sha256');
  const chunk = new Uint8Array(CHUNK);
  for (const [i, f] of files.entries()) {
    // Separate files so that moving bytes across a file boundary changes the hash.
    hash.update(`\0${i}\0`);
    // Opened as the readers open them (regular files only, non-blocking): a part swapped for a
    // FIFO after the model was opened is refused here too, instead of stalling the server's
    // one analysis queue on an open that waits for a writer.
    const src = await FileSource.open(f);
    try {
      for (let at = 0; at < src.size; at += CHUNK) {
        const part = chunk.subarray(0, Math.min(CHUNK, src.size - at));
        await src.readInto(at, part);
        hash.update(part);
      }
    } finally {
      await src.close();
    }
  }
  return hash.digest('hex');
}
