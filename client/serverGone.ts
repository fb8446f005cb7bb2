// A request the language server can no longer answer: it died or was stopped while the
// request was pending (or before it was sent). The restart policy's message
// (serverRecovery.ts) already tells the user, so callers let such requests go quietly, as
// vscode-languageclient's own features do, rather than surfacing the connection's wording
// ("Pending response rejected since connection got disposed") as a second toast.
import { ErrorCodes, ResponseError } from 'vscode-jsonrpc';

export function serverGone(e: unknown): boolean {
  return e instanceof ResponseError && (e.code === ErrorCodes.PendingResponseRejected || e.code === ErrorCodes.ConnectionInactive);
}
