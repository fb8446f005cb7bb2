// One python/torch_runner.py process for a job: typed calls (torchRunnerProtocol.ts) over the
// PyTorch engine's worker plumbing (engines/torchWorker.ts: start-up handshake, replies in
// order, one-line errors when Python, torch or the process fails).
import { bytesOf, parts, type Part } from '../engines/torchProtocol.js';
import { resolvePython, TorchWorker } from '../engines/torchWorker.js';
import type { FactorSource } from '../compress/types.js';
import type { Tensor } from '../eval/tensor.js';
import type { RunnerOp, RunnerOps } from './torchRunnerProtocol.js';

/** Named arrays of a request, in payload order. */
export type Arrays = [name: string, data: Float32Array | Float64Array][];

/** Every layer's factors, as requests carry them. */
export async function factorArrays(source: FactorSource): Promise<Arrays> {
  const arrays: Arrays = [];
  for (const name of source.shapes.keys()) {
    const f = await source.load(name);
    arrays.push([`a:${name}`, f.a], [`b:${name}`, f.b]);
    if (f.bias) arrays.push([`bias:${name}`, f.bias]);
  }
  return arrays;
}

export const inputArrays = (x: Tensor): Arrays => [['x', x.data]];

export interface Reply<K extends RunnerOp> { value: RunnerOps[K]['result']; arrays: Map<string, Float32Array | Float64Array> }

export class TorchRunnerProcess {
  private readonly worker: TorchWorker;
  private next = 1;

  /** `python`: `--python`, else resolvePython's fallbacks. */
  constructor(python?: string) {
    this.worker = new TorchWorker({ python: resolvePython(python), precision: 'auto', script: 'torch_runner.py' });
  }

  /** `shape`: the shape of the `x` array, where the request has one. */
  async call<K extends RunnerOp>(op: K, request: RunnerOps[K]['request'], arrays: Arrays = [], shape?: number[]): Promise<Reply<K>> {
    await this.worker.hello;
    const meta: Part[] = arrays.map(([name, a]) => [name, a instanceof Float64Array ? 'f64' : 'f32', a.byteLength]);
    const payload = Buffer.concat(arrays.map(([, a]) => bytesOf(a)));
    const header = { ...request, id: this.next++, op, parts: meta, bytes: payload.length, ...(shape ? { shape } : {}) };
    const frame = await this.worker.request(header, payload);
    return { value: frame.header.value as RunnerOps[K]['result'], arrays: parts(frame) };
  }

  /** Where it computes, as its hello says ("CPU · torch 1.13.1", "CUDA · NVIDIA H100 …"). */
  async device(): Promise<string> {
    return (await this.worker.hello).device;
  }

  /** Ends the process now (what it holds is the job's scratch state only). */
  dispose(): void {
    this.worker.kill(new Error('the PyTorch runner was closed'));
  }
}
