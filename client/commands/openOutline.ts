// `reducible.openOutline`: the read-only layer listing of a (binary) model, where hovers
// and code lenses work as in model.json.
import * as vscode from 'vscode';
import type { OpenPanelArgs } from '../../shared/protocol.js';
import { outlineUriOf } from '../outlineProvider.js';

export async function openOutline(arg?: vscode.Uri | OpenPanelArgs): Promise<void> {
  const model = arg instanceof vscode.Uri ? arg : arg?.uri ? vscode.Uri.parse(arg.uri) : vscode.window.activeTextEditor?.document.uri;
  if (!model) { void vscode.window.showWarningMessage('Reducible: pick a model file to outline.'); return; }
  const doc = await vscode.workspace.openTextDocument(outlineUriOf(model));
  await vscode.window.showTextDocument(doc, { preview: true });
}
