import { basename } from 'node:path';
import type { CodeLens } from 'vscode-languageserver';
import type { Analysis } from '../../core/analysis.js';
import { COMMANDS, type ChooseModuleArgs, type OpenPanelArgs } from '../../shared/protocol.js';
import { verdict } from '../render.js';
import type { LayerSite } from '../sites/index.js';
import { fileUri } from '../uris.js';

/**
 * A lens per layer; on Python training code matched to a checkpoint that needs its module to be
 * run (data-aware methods, evaluation), also one at the top offering this file's functions and
 * classes as that module.
 */
export function codeLenses(sites: LayerSite[], uri: string): CodeLens[] {
  return [...(uri.endsWith('.py') ? moduleLenses(sites, uri) : []), ...layerLenses(sites)];
}

function moduleLenses(sites: LayerSite[], file: string): CodeLens[] {
  const runnable = new Map<string, Analysis>();
  for (const s of sites) if (s.analysis.withModule) runnable.set(s.analysis.path, s.analysis);
  return [...runnable.values()].map((a) => {
    const args: ChooseModuleArgs = { model: fileUri(a.path), file };
    const top = { line: 0, character: 0 };
    return { range: { start: top, end: top }, command: { title: `Reducible: run ${basename(a.path)} with a module from this file…`, command: COMMANDS.chooseTorchModule, arguments: [args] } };
  });
}

function layerLenses(sites: LayerSite[]): CodeLens[] {
  return sites.map((s) => {
    const args: OpenPanelArgs = { uri: fileUri(s.analysis.path), layer: s.layer.name };
    return {
      range: s.range,
      command: { title: `${s.layer.name}: ${verdict(s.layer, s.analysis.energy)}`, command: COMMANDS.openPanel, arguments: [args] },
    };
  });
}
