// Identity of a model's bytes: sha256 over all of its files, so a moved or copied model
// reuses its cached analysis and an edited one never does.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export async function contentHash(files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const [i, f] of files.entries()) {
    // Separate files so that moving bytes across a file boundary changes the hash.
    hash.update(`\0${i}\0`);
    for await (const chunk of createReadStream(f, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
