// Position arithmetic the features share.
import type { Position, Range } from 'vscode-languageserver';
import type { LayerSite } from '../sites/index.js';

const before = (a: Position, b: Position): boolean => a.line < b.line || (a.line === b.line && a.character <= b.character);

export function contains(r: Range, p: Position): boolean {
  return before(r.start, p) && before(p, r.end);
}

export function intersects(a: Range, b: Range): boolean {
  return before(a.start, b.end) && before(b.start, a.end);
}

/** The innermost site whose extent holds the position (extents nest in nested models). */
export function siteAtPosition(sites: LayerSite[], p: Position): LayerSite | undefined {
  return sites.filter((s) => contains(s.extent, p)).sort((a, b) => (before(a.extent.start, b.extent.start) ? 1 : -1))[0];
}
