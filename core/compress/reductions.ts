// Places in one scratch file where a compress job's spectrum pass leaves each layer's Gram
// reduction for the truncated SVD of that layer (linalg/reductionFile.ts says why): the
// plan's spectra and the factors then cost one reduction per layer, not two. The torch worker
// keeps its eigenvectors there instead (python/torch_worker.py: they fit the same bytes).
// Engines that keep nothing never write there, and an SVD that finds nothing at its place
// computes afresh.
import type { ScratchFile } from '../io/atomicOutput.js';
import { reductionBytes, type ReductionPlace } from '../linalg/reductionFile.js';
import type { Layer } from '../types.js';

export class Reductions {
  private readonly places = new Map<string, ReductionPlace>();
  private end = 0;
  private file: Promise<ScratchFile> | undefined;

  /** `open` makes the scratch file, on the first place asked for. */
  constructor(private readonly open: () => Promise<ScratchFile>) {}

  /** The layer's place, reserved the first time it is asked for (the file grows only where written). */
  async placeOf(layer: Layer): Promise<ReductionPlace> {
    const { path } = await (this.file ??= this.open());
    let place = this.places.get(layer.name);
    if (!place) {
      place = { path, offset: this.end };
      this.end += reductionBytes(Math.min(layer.matrix.rows, layer.matrix.cols));
      this.places.set(layer.name, place);
    }
    return place;
  }
}
