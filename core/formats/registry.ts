// Every format Reducible reads, one line each. Adding a format is a folder of its own
// (core/formats/<format>/ with a format.ts exporting its FormatModule) and one line here.
import { stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { notRegular } from '../io/byteSource.js';
import type { Capabilities, Model, ModelFormat, OutputOverhead } from '../types.js';
import { InputError } from '../types.js';
import { storedOverhead, type FormatModule } from './format.js';
import type { ModelRunner, RunnerSite } from '../runners/runner.js';
import type { StoredModel } from './storedModel.js';
import { isHuggingFaceFolder } from './huggingface/folder.js';
import { huggingFace } from './huggingface/format.js';
import { kerasH5, kerasV3 } from './keras/format.js';
import { onnx } from './onnx/format.js';
import { pytorch } from './pytorch/format.js';
import { safetensors } from './safetensors/format.js';
import { tfjsGraph, tfjsLayers } from './tfjs/format.js';

let registered: readonly FormatModule[] | undefined;

/** Every format, in the order a shared ending is tried. Built on first use: format modules reach back here through the runners. */
export function formats(): readonly FormatModule[] {
  return registered ??= [
    tfjsLayers,
    tfjsGraph,
    kerasH5,
    kerasV3,
    onnx,
    safetensors,
    pytorch,
    huggingFace,
  ];
}

/** "TF.js layers, Keras and ONNX models": the formats with a capability, for messages. */
export function formatsWith(capability: keyof Capabilities): string {
  const titles = [...new Set(formats().filter((f) => f.capabilities[capability]).map((f) => f.title))];
  return `${titles.length > 1 ? `${titles.slice(0, -1).join(', ')} and ${titles.at(-1)}` : titles[0]} models`;
}

export function formatModule(id: ModelFormat): FormatModule {
  const m = formats().find((f) => f.id === id);
  if (!m) throw new Error(`no format module for ${id}`);
  return m;
}

/** What `model`'s compressed output holds besides its tensors' values, as its format estimates it (FormatModule.outputOverhead). */
export function outputOverhead(model: Model): OutputOverhead {
  const format = formatModule(model.format);
  return format.outputOverhead?.(model as StoredModel<unknown>) ?? { base: storedOverhead(model), perLayer: 0 };
}

/** The longest of `format`'s endings that `path` has, or undefined. */
export function endingOf(path: string, format: FormatModule): string | undefined {
  const lower = path.toLowerCase();
  return format.extensions.filter((e) => lower.endsWith(e)).sort((a, b) => b.length - a.length)[0];
}

/** Formats claiming the path by its ending, the most specific ending first (`.safetensors.index.json` before `.json`). */
export function candidatesFor(path: string): FormatModule[] {
  return formats().filter((f) => endingOf(path, f)).sort((a, b) => endingOf(path, b)!.length - endingOf(path, a)!.length);
}

/** The format of a file: by its ending, then by content where several formats share it (`.json`); a Hugging Face folder by its config.json. */
export async function formatOf(path: string): Promise<FormatModule> {
  if (isHuggingFaceFolder(path)) return huggingFace;
  const candidates = candidatesFor(path);
  if (candidates.length === 0) {
    const endings = [...new Set(formats().flatMap((f) => f.extensions))].join(', ');
    throw new InputError(path, `unsupported model format "${extname(path) || 'no extension'}" (supported: ${endings})`, 'unsupported');
  }
  // Before anything opens it (a sniff, a reader, the HDF5 worker): opening a FIFO waits for a writer.
  const st = await stat(path).catch(() => undefined);
  if (st && !st.isFile()) throw notRegular(path, st);
  for (const f of candidates) if (!f.sniff || await f.sniff(path)) return f;
  throw new InputError(path, `not a ${candidates.map((f) => f.title).join(' or ')} model (its content does not match)`);
}

/** The files that make `dir` a model folder (FormatModule.folderParts), its file names given; undefined when it is not one. */
export function modelFolderParts(dir: string, names: readonly string[]): string[] | undefined {
  for (const f of formats()) {
    const parts = f.folderParts?.(names);
    if (parts) return parts.map((n) => join(dir, n));
  }
  return undefined;
}

/** `dir/name.ext` → `dir/name.reduced.ext` (`name.safetensors.index.json` → `name.reduced.safetensors.index.json`). */
export function defaultOutput(path: string, format: FormatModule): string {
  const ending = path.slice(path.length - (endingOf(path, format)?.length ?? 0));
  return join(dirname(path), `${basename(path, ending)}.reduced${format.outputExtension ?? ending}`);
}

/** The runner of an open model's format (runners/runner.ts); refused where the format has none. */
export function runnerFor(model: StoredModel<unknown>, site: RunnerSite): ModelRunner {
  const format = formatModule(model.format);
  if (!format.runner) throw new InputError(model.path, `${format.title} models cannot be run here`);
  return format.runner(model, site);
}
