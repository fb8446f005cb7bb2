// Engine choice from the `reducible.engine` setting / `--engine` flag.
import { existsSync } from 'node:fs';
import { InputError } from '../types.js';
import type { Engine } from './engine.js';
import { EmbeddedEngine } from './embedded.js';
import { TorchEngine } from './torch.js';

export type EngineChoice = 'auto' | 'embedded' | 'wasm' | 'torch' | 'tfjs-node';
export const ENGINE_CHOICES: EngineChoice[] = ['auto', 'embedded', 'wasm', 'torch', 'tfjs-node'];

export interface EngineOptions {
  /** Python interpreter for the torch engine (`--python`, `reducible.pythonPath`). */
  python?: string;
}

export async function createEngine(choice: EngineChoice = 'auto', opts: EngineOptions = {}): Promise<Engine> {
  switch (choice) {
    case 'auto':
      return (await gpuTorch(opts)) ?? new EmbeddedEngine();
    case 'embedded':
    case 'wasm':
      return new EmbeddedEngine();
    case 'torch':
      return TorchEngine.start(opts);
    case 'tfjs-node':
      await requireTfjsNode();
      throw new InputError(undefined, 'engine "tfjs-node": @tensorflow/tfjs-node loads, but this build has no tfjs-node kernels yet; use --engine torch or embedded', 'unsupported');
    default:
      throw new InputError(undefined, `unknown engine "${String(choice)}" (expected ${ENGINE_CHOICES.join(', ')})`);
  }
}

/**
 * The torch engine when it runs on a GPU; undefined otherwise (silently: auto falls back).
 * Python is only started when a GPU can exist (an NVIDIA driver, or Apple silicon for MPS),
 * so machines without one pay nothing for the probe.
 */
async function gpuTorch(opts: EngineOptions): Promise<Engine | undefined> {
  const mayHaveGpu = existsSync('/proc/driver/nvidia/version') || existsSync('/dev/nvidia0') ||
    (process.platform === 'darwin' && process.arch === 'arm64') || process.platform === 'win32';
  if (!mayHaveGpu) return undefined;
  try {
    const torch = await TorchEngine.start(opts);
    if (torch.gpu) return torch;
    await torch.close();
  } catch {
    // No Python, no torch, or a broken install: the embedded engine is always there.
  }
  return undefined;
}

async function requireTfjsNode(): Promise<void> {
  try {
    await import('@tensorflow/tfjs-node' as string);
  } catch {
    throw new InputError(undefined, 'engine "tfjs-node" needs @tensorflow/tfjs-node, which is not installed (its install downloads libtensorflow; run `npm install @tensorflow/tfjs-node` on a machine with network)', 'unsupported');
  }
}
