// FactorSource over factors already in memory (fine-tuning's, tests'), and the way back to
// a plain map for the writers that lay out a whole model before writing any of it.
import type { Factorisation, FactorSource } from './types.js';

export function factorsInMemory(factors: ReadonlyMap<string, Factorisation>): FactorSource {
  return {
    shapes: factors,
    load: async (name) => {
      const f = factors.get(name);
      if (!f) throw new Error(`no factors for ${name}`);
      return f;
    },
  };
}

/** Every layer's factors at once, in the model's order. */
export async function loadAll(source: FactorSource): Promise<Map<string, Factorisation>> {
  const all = new Map<string, Factorisation>();
  for (const name of source.shapes.keys()) {
    const f = await source.load(name);
    all.set(name, f);
  }
  return all;
}
