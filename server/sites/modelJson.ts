// Layers in a TF.js model.json: each layer's `"name": "…"` inside modelTopology, and the
// layer object around it, found in the raw text so positions match what the editor shows.
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Analysis } from '../../core/analysis.js';
import { escapeRegExp, siteAt, type LayerSite } from './site.js';

/** [start, end) of every JSON object in the text, in order of their opening brace. */
function objectSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  const open: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '{') {
      open.push(spans.length);
      spans.push([i, text.length]);
    } else if (c === '}' && open.length) {
      spans[open.pop()!][1] = i + 1;
    }
  }
  return spans;
}

export function modelJsonSites(doc: TextDocument, analysis: Analysis): LayerSite[] {
  const text = doc.getText();
  const topology = text.indexOf('"modelTopology"');
  if (topology < 0) return [];
  const spans = objectSpans(text);
  const sites: LayerSite[] = [];
  for (const layer of analysis.layers) {
    const re = new RegExp(`"name"\\s*:\\s*"${escapeRegExp(JSON.stringify(layer.name).slice(1, -1))}"`, 'g');
    re.lastIndex = topology;
    const m = re.exec(text);
    if (!m) continue;
    const around = spans.filter(([s, e]) => s < m.index && m.index < e);
    // Keras nests a layer's name in its "config" object; the hover covers the whole layer.
    let inner = around.length - 1;
    if (inner > 0 && /"config"\s*:\s*$/.test(text.slice(Math.max(0, around[inner][0] - 32), around[inner][0]))) inner--;
    const extent = around[inner] ?? [m.index, m.index + m[0].length];
    sites.push(siteAt(doc, analysis, layer, [m.index, m.index + m[0].length], extent));
  }
  return sites;
}
