// `reducible-outline:` documents: the server's read-only text outline of a model file.
import * as vscode from 'vscode';
import type { BaseLanguageClient } from 'vscode-languageclient';
import { OUTLINE_SCHEME, outlineRequest } from '../shared/protocol.js';

export function outlineUriOf(model: vscode.Uri): vscode.Uri {
  return model.with({ scheme: OUTLINE_SCHEME });
}

export function outlineProvider(client: BaseLanguageClient): vscode.Disposable {
  const provider: vscode.TextDocumentContentProvider = {
    async provideTextDocumentContent(uri, token) {
      const { text } = await client.sendRequest(outlineRequest, { uri: uri.with({ scheme: 'file' }).toString() }, token);
      return text;
    },
  };
  return vscode.workspace.registerTextDocumentContentProvider(OUTLINE_SCHEME, provider);
}
