// Layers worth compressing as Information (≥ half the layer's parameters saved) or Hint;
// layers where the model's saved plan asks for a rank that cannot pay off as Information;
// a model that cannot be read as one Error at the top of the file.
import { basename } from 'node:path';
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver';
import { factoredParams } from '../../core/ranks/ranks.js';
import { formatCount } from '../../core/text/numbers.js';
import type { SavedPlan } from '../plans.js';
import { savedShare, verdict, worthFactorising } from '../render.js';
import type { LayerSite } from '../sites/index.js';

export const SOURCE = 'reducible';

export function layerDiagnostics(sites: LayerSite[], plan?: SavedPlan): Diagnostic[] {
  return [...worthDiagnostics(sites), ...(plan ? planDiagnostics(sites, plan) : [])];
}

function worthDiagnostics(sites: LayerSite[]): Diagnostic[] {
  return sites.filter((s) => worthFactorising(s.layer)).map((s) => ({
    range: s.range,
    severity: savedShare(s.layer) >= 0.5 ? DiagnosticSeverity.Information : DiagnosticSeverity.Hint,
    source: SOURCE,
    code: 'low-rank',
    message: `${s.layer.name}: ${verdict(s.layer, s.analysis.energy)}`,
    data: { layer: s.layer.name },
  }));
}

/**
 * A planned rank above the break-even rank (the largest rank whose two factors store fewer
 * parameters than the matrix) and below full rank (which keeps the layer dense) makes the
 * layer bigger, whatever the error: say so where the layer is, with the break-even rank.
 */
function planDiagnostics(sites: LayerSite[], plan: SavedPlan): Diagnostic[] {
  return sites.flatMap(({ layer: l, range }) => {
    const k = plan.layers.get(l.name);
    if (k === undefined || !l.factorisable || k <= l.breakEvenRank || k >= Math.min(l.rows, l.cols)) return [];
    return [{
      range,
      severity: DiagnosticSeverity.Information,
      source: SOURCE,
      code: 'plan-cannot-pay',
      message: `${l.name}: low rank cannot pay off at rank ${k} (${basename(plan.file)}): the break-even rank is ${l.breakEvenRank}; ` +
        `at rank ${k} the two factors store ${formatCount(factoredParams(l.rows, l.cols, k))} parameters, the dense layer ${formatCount(l.rows * l.cols)}`,
      data: { layer: l.name },
    }];
  });
}

export function fileErrorDiagnostic(message: string): Diagnostic {
  return {
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
    severity: DiagnosticSeverity.Error,
    source: SOURCE,
    message,
  };
}
