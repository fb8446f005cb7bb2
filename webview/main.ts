// Webview entry (bundled to dist/webview.js): builds the panel and connects it to the host.
import type { HostToPanel } from '../shared/panelProtocol.js';
import { PanelApp } from './app.js';
import './components.js';
import { installStyles } from './styles.js';
import { connectHost } from './vscodeApi.js';

installStyles(document);
const host = connectHost();
const app = new PanelApp(document.body, host);
window.addEventListener('message', (e: MessageEvent<HostToPanel>) => app.receive(e.data));
host.postMessage({ type: 'ready' });
