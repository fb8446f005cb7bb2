// Finished factors wait for the writer in a scratch file rather than in memory: while later
// layers are factorised (each SVD holds ~3× its layer), the earlier ones' factors would add
// up to the whole compressed model on top (issue #3 bounds the peak by 2× the largest layer).
import type { FactorPlace } from '../engines/engine.js';
import type { ScratchFile } from '../io/atomicOutput.js';
import type { Layer } from '../types.js';
import type { FactorsToFile } from './factorize.js';
import type { Factorisation, FactorShape, FactorSource } from './types.js';

interface Spilled { f: FactorShape; a: number; aLength: number; b: number; bLength: number }

const bytesOf = (x: Float32Array): Uint8Array => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);

export class FactorSpill implements FactorsToFile<void> {
  private readonly spilled = new Map<string, Spilled>();

  constructor(private readonly file: ScratchFile) {}

  /** Writes the factors out (a KeepFactors: they may be views of memory reused once this settles). */
  async put(f: Factorisation): Promise<void> {
    const { a, b, ...rest } = f;
    const [atA, atB] = [await this.file.append(bytesOf(a)), await this.file.append(bytesOf(b))];
    this.spilled.set(f.layer.name, { f: rest, a: atA, aLength: a.length, b: atB, bLength: b.length });
  }

  /** A region for the layer's factors at `rank`, for an engine to write them there itself. */
  async reserve(layer: Layer, rank: number): Promise<FactorPlace> {
    const { rows, cols } = layer.matrix;
    return { path: this.file.path, a: this.file.reserve(4 * rows * rank), b: this.file.reserve(4 * rank * cols) };
  }

  /** Records factors an engine wrote at `place`. */
  written(f: FactorShape, place: FactorPlace): void {
    const { rows, cols } = f.layer.matrix;
    this.spilled.set(f.layer.name, { f, a: place.a, aLength: rows * f.rank, b: place.b, bLength: f.rank * cols });
  }

  /** The spilled layers as writers take them, listed in `order` (the model's). */
  inOrder(order: readonly string[]): FactorSource {
    return { shapes: new Map(order.map((name) => [name, this.spilled.get(name)!.f])), load: (name, into) => this.load(name, into) };
  }

  private async load(name: string, into?: Float32Array): Promise<Factorisation> {
    const s = this.spilled.get(name);
    if (!s) throw new Error(`no spilled factors for ${name}`);
    const a = into ? into.subarray(0, s.aLength) : new Float32Array(s.aLength);
    const b = into ? into.subarray(s.aLength, s.aLength + s.bLength) : new Float32Array(s.bLength);
    await this.file.read(s.a, bytesOf(a));
    await this.file.read(s.b, bytesOf(b));
    return { ...s.f, a, b };
  }
}
