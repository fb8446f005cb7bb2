import type { CodeLens } from 'vscode-languageserver';
import { COMMANDS, type OpenPanelArgs } from '../../shared/protocol.js';
import { verdict } from '../render.js';
import type { LayerSite } from '../sites/index.js';
import { fileUri } from '../uris.js';

export function codeLenses(sites: LayerSite[]): CodeLens[] {
  return sites.map((s) => {
    const args: OpenPanelArgs = { uri: fileUri(s.analysis.path), layer: s.layer.name };
    return {
      range: s.range,
      command: { title: `${s.layer.name}: ${verdict(s.layer, s.analysis.energy)}`, command: COMMANDS.openPanel, arguments: [args] },
    };
  });
}
