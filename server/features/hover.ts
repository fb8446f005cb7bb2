import { MarkupKind, type Hover, type Position } from 'vscode-languageserver';
import { basename } from 'node:path';
import { hoverMarkdown } from '../render.js';
import type { LayerSite } from '../sites/index.js';
import { siteAtPosition } from './ranges.js';

export function hover(sites: LayerSite[], position: Position): Hover | null {
  const site = siteAtPosition(sites, position);
  if (!site) return null;
  return {
    contents: { kind: MarkupKind.Markdown, value: hoverMarkdown(site.layer, site.analysis.energy, basename(site.analysis.path)) },
    range: site.range,
  };
}
