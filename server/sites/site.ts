// A place in a document that stands for one analysed layer.
import type { Range } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Analysis, LayerAnalysis } from '../../core/analysis.js';

export interface LayerSite {
  analysis: Analysis;
  layer: LayerAnalysis;
  /** The layer's name: where lenses and diagnostics go. */
  range: Range;
  /** Everything that describes the layer (its JSON config, outline row, constructor call): where a hover answers. */
  extent: Range;
}

export function siteAt(doc: TextDocument, analysis: Analysis, layer: LayerAnalysis, name: [number, number], extent: [number, number]): LayerSite {
  const range = (a: number, b: number): Range => ({ start: doc.positionAt(a), end: doc.positionAt(b) });
  return { analysis, layer, range: range(...name), extent: range(...extent) };
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
