// Factors handed to writers the way a compression job hands them.
import type { Factorisation, FactorSource } from '../../core/compress/types.js';

/**
 * The factors as the job's scratch file gives them to a writer: each load lands in the buffer
 * the writer passes, overwriting the layer before. A writer that used a layer's factors after
 * loading the next one would write the wrong values, which the tests comparing outputs see;
 * a layer loaded twice, or a load without a buffer, throws.
 */
export function oneLayerAtATime(factors: Map<string, Factorisation>): FactorSource {
  const loaded = new Set<string>();
  return {
    shapes: factors,
    load: async (name, into) => {
      const f = factors.get(name)!;
      if (loaded.has(name) || !into) throw new Error(`${name} loaded ${into ? 'twice' : 'without a reused buffer'}`);
      loaded.add(name);
      const a = into.subarray(0, f.a.length), b = into.subarray(f.a.length, f.a.length + f.b.length);
      a.set(f.a);
      b.set(f.b);
      return { ...f, a, b };
    },
  };
}
