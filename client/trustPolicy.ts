// What an untrusted (Restricted Mode) workspace may use: analysis runs, on the embedded engine
// only, so no interpreter — neither the configured one nor one found on PATH — is ever started
// for it. No VS Code imports, so the language-server tests start the server exactly as the
// client configures it in Restricted Mode.
import type { ServerSettings } from '../shared/protocol.js';

export function settingsForTrust(settings: ServerSettings, trusted: boolean): ServerSettings {
  return trusted ? settings : { ...settings, engine: 'embedded', pythonPath: undefined };
}
