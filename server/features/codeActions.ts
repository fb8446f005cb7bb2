import { CodeActionKind, type CodeAction, type CodeActionParams } from 'vscode-languageserver';
import { removableShare, type Analysis } from '../../core/analysis.js';
import { COMMANDS, type CompressArgs } from '../../shared/protocol.js';
import { worthFactorising } from '../render.js';
import type { LayerSite } from '../sites/index.js';
import { fileUri } from '../uris.js';
import { SOURCE } from './diagnostics.js';
import { intersects } from './ranges.js';

function compress(title: string, kind: string, args: CompressArgs): CodeAction {
  return { title, kind, command: { title, command: COMMANDS.compress, arguments: [args] } };
}

export function suggestedPlan(a: Analysis): Record<string, number> {
  return Object.fromEntries(a.layers.filter(worthFactorising).map((l) => [l.name, l.suggestedRank]));
}

export function codeActions(sites: LayerSite[], params: CodeActionParams): CodeAction[] {
  const site = sites.find((s) => intersects(s.extent, params.range));
  if (!site) return [];
  const uri = fileUri(site.analysis.path);
  const actions: CodeAction[] = [];
  if (worthFactorising(site.layer)) {
    const fix = compress(`Compress ${site.layer.name} to rank ${site.layer.suggestedRank}`, CodeActionKind.QuickFix,
      { uri, plan: { layers: { [site.layer.name]: site.layer.suggestedRank } } });
    fix.diagnostics = params.context.diagnostics.filter((d) => d.source === SOURCE && (d.data as { layer?: string })?.layer === site.layer.name);
    fix.isPreferred = true;
    actions.push(fix);
  }
  const plan = suggestedPlan(site.analysis);
  if (Object.keys(plan).length) {
    actions.push(compress('Compress model at suggested ranks', CodeActionKind.RefactorRewrite, { uri, plan: { layers: plan } }));
  }
  const keep = Math.max(1, Math.round((1 - removableShare(site.analysis)) * 100));
  actions.push(compress(`Compress model to ${keep} % of parameters…`, CodeActionKind.RefactorRewrite, { uri, ratio: keep / 100, askRatio: true }));
  return actions;
}
