// `reducible.restartServer`: starts the language server again, e.g. after it died twice and
// the client left it stopped (restartPolicy.ts); it then gets its one automatic restart back.
import type { LanguageClient } from 'vscode-languageclient/node';
import type { RestartPolicy } from '../restartPolicy.js';

export function restartServer(client: LanguageClient, policy: RestartPolicy): () => Promise<void> {
  return async () => {
    policy.reset();
    await client.restart();
  };
}
