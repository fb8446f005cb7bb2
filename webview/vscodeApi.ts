// The one object VS Code gives a webview: post to the host and keep state across reloads.
import type { PanelToHost, PanelViewState } from '../shared/panelProtocol.js';

export interface PanelHost {
  postMessage(message: PanelToHost): void;
  getState(): PanelViewState | undefined;
  setState(state: PanelViewState): void;
}

declare function acquireVsCodeApi(): PanelHost;

/** May be called only once per page load (VS Code throws on a second call). */
export function connectHost(): PanelHost {
  return acquireVsCodeApi();
}
