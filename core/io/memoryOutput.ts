// An OutputSink that keeps what a writer writes in memory: a model variant handed straight to a
// runtime that loads from bytes (onnxruntime), or an ONNX copy with extra outputs, never on disk.
import type { OutputFile, OutputSink } from '../compress/types.js';

export class MemoryOutput implements OutputSink {
  private readonly chunks = new Map<string, Uint8Array[]>();

  async file(path: string): Promise<OutputFile> {
    const parts: Uint8Array[] = [];
    this.chunks.set(path, parts);
    // Writers reuse their buffers between writes: each chunk is copied.
    return { path, write: async (chunk) => { parts.push(chunk.slice()); } };
  }

  /** Paths here are only names: a folder needs nothing made. */
  async folder(): Promise<void> {}

  /** The paths written, in order. */
  get paths(): string[] { return [...this.chunks.keys()]; }

  /** The bytes written to `path`, in one array. */
  bytes(path: string): Uint8Array {
    const parts = this.chunks.get(path);
    if (!parts) throw new Error(`nothing was written to ${path}`);
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
}
