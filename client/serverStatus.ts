// The one `reducible/status` handler: vscode-languageclient keeps a single handler per
// notification, so every consumer (status bar, models view, panel) subscribes here instead.
import * as vscode from 'vscode';
import type { BaseLanguageClient } from 'vscode-languageclient';
import { statusNotification, type StatusParams } from '../shared/protocol.js';

export class ServerStatus implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<StatusParams>();
  readonly onDidChange = this.emitter.event;
  last?: StatusParams;
  private readonly registration: vscode.Disposable;

  constructor(client: BaseLanguageClient) {
    this.registration = client.onNotification(statusNotification, (s) => { this.last = s; this.emitter.fire(s); });
  }

  /**
   * The client as seen by code that registers its own status handler (the tradeoff panel):
   * that registration joins this fan-out instead of replacing it.
   */
  sharedClient(client: BaseLanguageClient): BaseLanguageClient {
    return new Proxy(client, {
      get: (target, prop) => {
        if (prop === 'onNotification') {
          return (type: { method: string } | string, handler: (p: StatusParams) => void) =>
            ((typeof type === 'string' ? type : type.method) === statusNotification.method
              ? this.onDidChange(handler)
              : target.onNotification(type as string, handler as (...params: unknown[]) => void));
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }

  dispose(): void {
    this.registration.dispose();
    this.emitter.dispose();
  }
}
