// Which layers a document shows, whatever kind of document it is.
import { extname } from 'node:path';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { ModelStore } from '../modelStore.js';
import { modelPathOf } from '../uris.js';
import { modelJsonSites } from './modelJson.js';
import { outlineSites } from './outline.js';
import type { LayerSite } from './site.js';
import { TRAINING_CODE_EXTENSIONS, trainingCodeSites } from './trainingCode.js';

export type { LayerSite } from './site.js';

export function sitesFor(doc: TextDocument, store: ModelStore): LayerSite[] {
  const model = modelPathOf(doc.uri);
  if (!model) return [];
  const analysis = store.entries.get(model.path)?.analysis;
  if (model.outline) return analysis ? outlineSites(doc, analysis) : [];
  if (analysis) return analysis.format.startsWith('tfjs') ? modelJsonSites(doc, analysis) : [];
  if (TRAINING_CODE_EXTENSIONS.includes(extname(model.path).toLowerCase())) {
    return trainingCodeSites(doc, store.ready().map((e) => e.analysis!));
  }
  return [];
}
