// The engine the `reducible.engine` setting names, or the embedded one with a reason when
// that engine is not available here: analysis always has somewhere to run.
import type { Engine } from '../core/engines/engine.js';
import { createEngine, type EngineChoice } from '../core/engines/select.js';

export async function chooseEngine(choice: string, python?: string): Promise<{ engine: Engine; message?: string }> {
  try {
    return { engine: await createEngine(choice as EngineChoice, { python }) };
  } catch (e) {
    return { engine: await createEngine('auto'), message: `engine "${choice}" unavailable (${(e as Error).message}); using the embedded engine` };
  }
}
