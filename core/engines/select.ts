// Engine choice from the `reducible.engine` setting / `--engine` flag.
import { InputError } from '../types.js';
import type { Engine } from './engine.js';
import { EmbeddedEngine } from './embedded.js';

export type EngineChoice = 'auto' | 'embedded' | 'wasm' | 'torch' | 'tfjs-node';
export const ENGINE_CHOICES: EngineChoice[] = ['auto', 'embedded', 'wasm', 'torch', 'tfjs-node'];

export async function createEngine(choice: EngineChoice = 'auto'): Promise<Engine> {
  switch (choice) {
    case 'auto':
    case 'embedded':
    case 'wasm':
      return new EmbeddedEngine();
    default:
      throw new InputError(undefined, `engine "${choice}" is not available in this build`);
  }
}
