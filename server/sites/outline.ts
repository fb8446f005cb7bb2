// The read-only text outline of a model (reducible-outline: documents), and its layer rows.
import { basename } from 'node:path';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Analysis } from '../../core/analysis.js';
import type { Model } from '../../core/types.js';
import { formatBytes, formatCount } from '../../core/text/numbers.js';
import { table } from '../../core/text/table.js';
import { escapeRegExp, siteAt, type LayerSite } from './site.js';

const LAYERS_HEADER = 'layers';
const OTHERS_HEADER = 'other tensors';

export function renderOutline(model: Model): string {
  const used = new Set(model.layers.map((l) => l.weight));
  const layerRows = [['name', 'kind', 'shape', 'matrix', 'dtype', 'params'],
    ...model.layers.map((l) => [l.name, l.kind, l.shape.join('×'), `${l.matrix.rows}×${l.matrix.cols}`, l.dtype, formatCount(l.params)])];
  const others = model.tensors.filter((t) => !used.has(t.name));
  const otherRows = [['name', 'shape', 'dtype', 'bytes'], ...others.map((t) => [t.name, t.shape.join('×') || 'scalar', t.dtype, formatBytes(t.storedBytes)])];
  return [
    `# ${basename(model.path)} — ${model.format} · ${formatBytes(model.fileBytes)} · ${formatCount(model.totalParams)} params`,
    '# Read-only outline by Reducible: hover a layer for its rank hint.',
    '',
    LAYERS_HEADER,
    table(layerRows),
    ...(others.length ? ['', OTHERS_HEADER, table(otherRows)] : []),
    '',
  ].join('\n');
}

export function outlineSites(doc: TextDocument, analysis: Analysis): LayerSite[] {
  const text = doc.getText();
  const start = text.indexOf(`\n${LAYERS_HEADER}\n`);
  if (start < 0) return [];
  const bodyStart = text.indexOf('\n', start + LAYERS_HEADER.length + 2) + 1;
  const othersAt = text.indexOf(`\n${OTHERS_HEADER}\n`);
  const body = text.slice(bodyStart, othersAt < 0 ? text.length : othersAt);
  const sites: LayerSite[] = [];
  for (const layer of analysis.layers) {
    const m = new RegExp(`^${escapeRegExp(layer.name)}(?= )[^\\n]*`, 'm').exec(body);
    if (!m) continue;
    const at = bodyStart + m.index;
    sites.push(siteAt(doc, analysis, layer, [at, at + layer.name.length], [at, at + m[0].length]));
  }
  return sites;
}
