// What the client does when its language server dies: restart it once and say so; if it dies
// again, leave it stopped and say how to start it, rather than vscode-languageclient's default
// of up to four silent restarts in three minutes (a server that keeps crashing on a file would
// otherwise keep crashing, unseen). No VS Code imports, so the policy is unit-tested alone;
// serverRecovery.ts adapts it to the client's ErrorHandler.

export const CRASHED_RESTARTED = 'Reducible language server crashed; restarted';
export const STOPPED = 'Reducible language server stopped; run Reducible: Restart Server';

export interface Verdict { restart: boolean; message: string }

export class RestartPolicy {
  private restarts = 0;

  constructor(private readonly allowed = 1) {}

  /** The server's connection closed without the client asking. */
  serverClosed(): Verdict {
    if (this.restarts >= this.allowed) return { restart: false, message: STOPPED };
    this.restarts++;
    return { restart: true, message: CRASHED_RESTARTED };
  }

  /** The user restarted the server (Reducible: Restart Server): it gets its automatic restart back. */
  reset(): void { this.restarts = 0; }
}
