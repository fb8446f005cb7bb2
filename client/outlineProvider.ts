// `reducible-outline:` documents: the server's read-only text outline of a model file.
import * as vscode from 'vscode';
import type { BaseLanguageClient } from 'vscode-languageclient';
import { OUTLINE_SCHEME, outlineRequest } from '../shared/protocol.js';
import { serverGone } from './serverGone.js';
import type { ServerStatus } from './serverStatus.js';

const SERVER_GONE_TEXT = 'The Reducible language server stopped before this outline was ready.\n';

export function outlineUriOf(model: vscode.Uri): vscode.Uri {
  return model.with({ scheme: OUTLINE_SCHEME });
}

export function outlineProvider(client: BaseLanguageClient, status: ServerStatus): vscode.Disposable {
  const changed = new vscode.EventEmitter<vscode.Uri>();
  const provider: vscode.TextDocumentContentProvider = {
    onDidChange: changed.event,
    async provideTextDocumentContent(uri, token) {
      try {
        return (await client.sendRequest(outlineRequest, { uri: uri.with({ scheme: 'file' }).toString() }, token)).text;
      } catch (e) {
        if (!serverGone(e)) throw e;
        // Redrawn with the outline when a restarted server's first round ends (below).
        return SERVER_GONE_TEXT;
      }
    },
  };
  return vscode.Disposable.from(
    changed,
    vscode.workspace.registerTextDocumentContentProvider(OUTLINE_SCHEME, provider),
    // A model file that changed was re-analysed by the time a round ends: redraw open outlines.
    status.onDidChange((s) => {
      if (!s.quiescent) return;
      for (const doc of vscode.workspace.textDocuments) if (doc.uri.scheme === OUTLINE_SCHEME) changed.fire(doc.uri);
    }),
  );
}
