// Layer constructors in training code matched to a trained checkpoint in the workspace by
// attribute (or `name=`) and shape: `self.fc1 = nn.Linear(784, 256)` ↔ `fc1.weight` [256, 784].
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Analysis, LayerAnalysis } from '../../core/analysis.js';
import { siteAt, type LayerSite } from './site.js';

export const TRAINING_CODE_EXTENSIONS = ['.py', '.js', '.mjs', '.cjs', '.ts', '.mts', '.jsx', '.tsx'];

const CALL = /(?:(?:self\.|this\.)?(\w+)\s*=\s*)?\b(?:torch\.)?(nn\.Linear|nn\.Conv2d|(?:tf\.)?(?:keras\.)?layers\.[Dd]ense)\s*\(/g;

/** The text between a call's parentheses (open is the index of "("), or undefined when unbalanced. */
function callArgs(text: string, open: number): string | undefined {
  let depth = 0;
  for (let i = open; i < Math.min(text.length, open + 4000); i++) {
    if (text[i] === '(' || text[i] === '{' || text[i] === '[') depth++;
    else if (text[i] === ')' || text[i] === '}' || text[i] === ']') if (--depth === 0) return text.slice(open + 1, i);
  }
  return undefined;
}

/** Top-level comma-separated arguments (Python kwargs and a JS config object's fields alike). */
function splitArgs(args: string): string[] {
  const inner = args.trim().startsWith('{') ? args.trim().slice(1, -1) : args;
  const out: string[] = [];
  let depth = 0, cur = '';
  for (const c of inner) {
    if (c === ',' && depth === 0) { out.push(cur.trim()); cur = ''; continue; }
    if ('([{'.includes(c)) depth++;
    if (')]}'.includes(c)) depth--;
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Value of argument `key` (kwarg or JS field), else the positional argument at `position`. */
function arg(parts: string[], key: string, position: number): string | undefined {
  const named = parts.find((p) => new RegExp(`^['"]?${key}['"]?\\s*[=:]`).test(p));
  if (named) return named.replace(/^[^=:]*[=:]\s*/, '');
  return parts.filter((p) => !/^['"]?\w+['"]?\s*[=:]/.test(p))[position];
}

const int = (s: string | undefined): number | undefined => {
  const m = s?.match(/\d+/);
  return m ? Number(m[0]) : undefined;
};

type Matcher = (l: LayerAnalysis) => boolean;

/** What layer a constructor call describes, as a shape test. */
function matcherFor(ctor: string, parts: string[]): Matcher | undefined {
  if (ctor === 'nn.Linear') {
    const i = int(arg(parts, 'in_features', 0)), o = int(arg(parts, 'out_features', 1));
    return i && o ? (l) => l.kind === 'linear' && l.shape[0] === o && l.shape[1] === i : undefined;
  }
  if (ctor === 'nn.Conv2d') {
    const i = int(arg(parts, 'in_channels', 0)), o = int(arg(parts, 'out_channels', 1)), k = int(arg(parts, 'kernel_size', 2));
    return i && o && k ? (l) => l.kind === 'conv2d' && l.shape.join() === [o, i, k, k].join() : undefined;
  }
  const units = int(arg(parts, 'units', 0));
  // A Keras/TF.js Dense kernel is in×units; the same layer saved by PyTorch is units×in.
  return units ? (l) => (l.kind === 'dense' && l.cols === units) || (l.kind === 'linear' && l.rows === units) : undefined;
}

const nameMatches = (layer: string, name: string): boolean =>
  layer === name || layer.endsWith(`.${name}`) || layer.endsWith(`/${name}`);

export function trainingCodeSites(doc: TextDocument, analyses: Analysis[]): LayerSite[] {
  const text = doc.getText();
  const sites: LayerSite[] = [];
  for (const m of text.matchAll(CALL)) {
    const open = m.index + m[0].length - 1;
    const args = callArgs(text, open);
    if (args === undefined) continue;
    const parts = splitArgs(args);
    const name = arg(parts, 'name', -1)?.replace(/^['"]|['"]$/g, '') ?? m[1];
    const fits = matcherFor(m[2], parts);
    if (!name || !fits) continue;
    for (const a of analyses) {
      const layer = a.layers.find((l) => nameMatches(l.name, name) && fits(l));
      if (!layer) continue;
      sites.push(siteAt(doc, a, layer, [m.index, open], [m.index, open + args.length + 2]));
      break;
    }
  }
  return sites;
}
