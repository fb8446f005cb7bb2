// The fuzz worker: writes each mutated seed into its work folder, opens it with openModel and
// reads every layer's matrix and every tensor, and reports how that ended. It runs in a
// worker thread so the harness can stop it when an input hangs or grows memory without bound.
import { parentPort, workerData } from 'node:worker_threads';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setHdf5Limits } from '../../../core/formats/containers/h5Remote.js';
import { openModel } from '../../../core/formats/open.js';
import { InputError } from '../../../core/types.js';
import { applyMutation, type Mutation } from './mutations.js';
import type { Seed } from './seeds.js';

/** `hdf5TimeoutMs`: the HDF5 reader's deadline, shorter than the watchdog's so a looping libhdf5 is the product's refusal, not a hang. */
export interface WorkerSetup { seeds: Seed[]; workDir: string; tmpDir: string; hdf5TimeoutMs: number }
export interface FuzzInput { index: number; seed: number; mutation: Mutation }
export type Outcome =
  | { index: number; kind: 'ok' }
  | { index: number; kind: 'refused'; message: string }
  | { index: number; kind: 'crash'; message: string }
  /** Files the reader left in the work or temp folder (removed before the next input). */
  | { index: number; kind: 'left-behind'; message: string };

/** The files of one fuzz input: the seed's, with one of them mutated. */
export function inputFiles(seed: Seed, m: Mutation): { name: string; bytes: Uint8Array }[] {
  const target = m.file % seed.files.length;
  return seed.files.map((f, i) => ({ name: f.name, bytes: i === target ? applyMutation(f, m) : f.bytes }));
}

/** Reads a model fully; resolves to how that ended. Everything but an InputError is a crash. */
export async function readFully(path: string, workDir: string): Promise<{ kind: 'ok' } | { kind: 'refused' | 'crash'; message: string }> {
  try {
    const model = await openModel(path);
    try {
      for (const layer of model.layers) await model.readMatrix(layer);
      for (const t of model.tensors) await model.readTensor(t.name);
    } finally {
      await model.close();
    }
    return { kind: 'ok' };
  } catch (e) {
    if (!(e instanceof InputError)) return { kind: 'crash', message: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e) };
    // The contract: one line that names the file.
    if (e.message.includes('\n') || !e.message.includes(workDir)) return { kind: 'crash', message: `InputError without one line naming the file: ${e.message}` };
    return { kind: 'refused', message: e.message };
  }
}

/** Removes what is in `dir` (except names matching `keep`) and returns their names. */
function clear(dir: string, keep?: RegExp): string[] {
  const found = readdirSync(dir).filter((f) => !keep?.test(f));
  for (const f of found) rmSync(join(dir, f), { recursive: true, force: true });
  return found;
}

if (parentPort) {
  const port = parentPort;
  const { seeds, workDir, tmpDir, hdf5TimeoutMs } = workerData as WorkerSetup;
  setHdf5Limits({ timeoutMs: hdf5TimeoutMs, msPerMB: 0 });
  port.on('message', async (batch: FuzzInput[]) => {
    for (const input of batch) {
      const seed = seeds[input.seed];
      const files = inputFiles(seed, input.mutation);
      for (const f of files) writeFileSync(join(workDir, f.name), f.bytes);
      const result = await readFully(join(workDir, files[0].name), workDir);
      const names = new Set(files.map((f) => f.name));
      // tsx keeps its compile cache in the temp folder (tsx-<uid>); that one is not the reader's.
      const stray = [...clear(workDir).filter((f) => !names.has(f)), ...clear(tmpDir, /^tsx-/).map((f) => join(tmpDir, f))];
      port.postMessage(stray.length && result.kind !== 'crash' ? { index: input.index, kind: 'left-behind', message: stray.join(', ') } : { index: input.index, ...result });
    }
  });
  // One unmutated read before the first input: starting the HDF5 thread (compiling libhdf5's
  // WebAssembly) and the first load of each reader's modules is the worker's start-up, not an
  // input's read, and on a loaded machine it alone can take longer than an input's deadline.
  const warm = seeds[0];
  for (const f of warm.files) writeFileSync(join(workDir, f.name), f.bytes);
  await readFully(join(workDir, warm.files[0].name), workDir);
  clear(workDir);
  clear(tmpDir, /^tsx-/);
  port.postMessage('ready');
}
