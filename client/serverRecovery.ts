// The language client's ErrorHandler, following restartPolicy.ts, and telling the user each time.
import * as vscode from 'vscode';
import { CloseAction, ErrorAction, type ErrorHandler } from 'vscode-languageclient/node';
import type { RestartPolicy } from './restartPolicy.js';

/** Read/write errors on the connection: carry on through a few, as the library's default does. */
const TOLERATED_CONNECTION_ERRORS = 3;

export function recoveringErrorHandler(policy: RestartPolicy): ErrorHandler {
  return {
    error: (_error, _message, count) => ({ action: (count ?? 0) <= TOLERATED_CONNECTION_ERRORS ? ErrorAction.Continue : ErrorAction.Shutdown }),
    closed: () => {
      const verdict = policy.serverClosed();
      if (verdict.restart) void vscode.window.showWarningMessage(verdict.message);
      else void vscode.window.showErrorMessage(verdict.message);
      // handled: the message above is the one the user sees (the client only logs its own).
      return { action: verdict.restart ? CloseAction.Restart : CloseAction.DoNotRestart, handled: true };
    },
  };
}
