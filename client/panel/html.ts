// The panel's page: one nonce'd script and a CSP that allows nothing else. Free of `vscode`
// imports so the browser tests load exactly this page.
import { randomBytes } from 'node:crypto';

export interface PanelPage {
  /** `webview.cspSource`: the origin the webview serves local resources from. */
  cspSource: string;
  /** `webview.asWebviewUri` of dist/webview.js. */
  scriptUri: string;
  nonce: string;
}

export function makeNonce(): string {
  return randomBytes(18).toString('base64url');
}

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

export function contentSecurityPolicy(page: PanelPage): string {
  // Styles are constructed sheets adopted from script, which style-src does not govern; no
  // inline <style> or style="" is allowed.
  return [
    "default-src 'none'",
    `script-src 'nonce-${page.nonce}'`,
    `style-src ${page.cspSource}`,
    `img-src ${page.cspSource} data:`,
    `font-src ${page.cspSource}`,
  ].join('; ');
}

export function panelHtml(page: PanelPage): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(contentSecurityPolicy(page))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Reducible</title>
</head>
<body>
<script nonce="${attr(page.nonce)}" src="${attr(page.scriptUri)}"></script>
</body>
</html>`;
}
