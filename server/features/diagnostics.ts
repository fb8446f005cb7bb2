// Layers worth compressing as Information (≥ half the layer's parameters saved) or Hint;
// a model that cannot be read as one Error at the top of the file.
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver';
import { savedShare, verdict, worthFactorising } from '../render.js';
import type { LayerSite } from '../sites/index.js';

export const SOURCE = 'reducible';

export function layerDiagnostics(sites: LayerSite[]): Diagnostic[] {
  return sites.filter((s) => worthFactorising(s.layer)).map((s) => ({
    range: s.range,
    severity: savedShare(s.layer) >= 0.5 ? DiagnosticSeverity.Information : DiagnosticSeverity.Hint,
    source: SOURCE,
    code: 'low-rank',
    message: `${s.layer.name}: ${verdict(s.layer, s.analysis.energy)}`,
    data: { layer: s.layer.name },
  }));
}

export function fileErrorDiagnostic(message: string): Diagnostic {
  return {
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
    severity: DiagnosticSeverity.Error,
    source: SOURCE,
    message,
  };
}
