// Loads the built panel (dist/webview.js inside the page client/panel/html.ts makes) in
// Debian Chromium. The one stand-in is the VS Code host: a scripted acquireVsCodeApi that
// records what the panel posts and keeps its state, as the real one does.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Analysis } from '../../core/analysis.js';
import { makeNonce, panelHtml } from '../../client/panel/html.js';
import type { HostToPanel, PanelToHost, PanelViewState } from '../../shared/panelProtocol.js';

const ORIGIN = 'https://panel.test';
export const BUNDLE = 'dist/webview.js';

/** What the stub host leaves on `window` for the test to read. */
interface HostStub {
  posted: PanelToHost[];
  state: PanelViewState | undefined;
  violations: string[];
}
type StubWindow = Window & { __host: HostStub };

// Kept as source text: the test runner's transpiler decorates functions with helpers that do
// not exist in the page, so a function could not be shipped there by its toString().
const STUB_HOST = `(initial) => {
  const host = { posted: [], state: initial ?? undefined, violations: [] };
  window.__host = host;
  document.addEventListener('securitypolicyviolation', (e) => host.violations.push(e.violatedDirective + ' ' + e.blockedURI));
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => host.posted.push(structuredClone(m)),
    getState: () => host.state,
    setState: (s) => { host.state = structuredClone(s); },
  });
}`;

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'reducible-webview-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    close: async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); },
  };
}

export class Panel {
  readonly errors: string[] = [];
  private constructor(readonly page: Page) {
    page.on('pageerror', (e) => this.errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') this.errors.push(m.text()); });
  }

  /** Opens the panel page; `state` plays what VS Code restores after a reload. */
  static async open(browser: Browser, state?: PanelViewState): Promise<Panel> {
    const page = await browser.context.newPage();
    const panel = new Panel(page);
    const bundle = readFileSync(BUNDLE);
    const html = panelHtml({ cspSource: ORIGIN, scriptUri: `${ORIGIN}/${BUNDLE}`, nonce: makeNonce() });
    await page.route(`${ORIGIN}/**`, (route) => route.fulfill(route.request().url().endsWith(BUNDLE)
      ? { body: bundle, contentType: 'text/javascript' }
      : { body: html, contentType: 'text/html' }));
    await page.addInitScript(`(${STUB_HOST})(${JSON.stringify(state ?? null)})`);
    await page.goto(`${ORIGIN}/index.html`);
    await page.waitForFunction(() => (window as unknown as StubWindow).__host.posted.some((m) => m.type === 'ready'));
    return panel;
  }

  /**
   * Posts a host message and returns once the page has handled it: a marker posted after it
   * arrives after it (messages are delivered in order), so the next check sees its effect.
   */
  async send(message: HostToPanel): Promise<void> {
    await this.page.evaluate((m) => new Promise<void>((resolve) => {
      const marker = `sent-${Math.random()}`;
      window.addEventListener('message', (e) => { if (e.data === marker) resolve(); });
      window.postMessage(m, '*');
      window.postMessage(marker, '*');
    }), message);
  }

  /** Sends the analysis and waits until its table and whole-model curve are drawn. */
  async load(analysis: Analysis, uri = 'file:///models/fixture.onnx'): Promise<void> {
    await this.send({ type: 'analysis', uri, analysis, engine: 'wasm' });
    await this.page.waitForFunction((n) => document.querySelectorAll('table.layers tbody tr').length === n
      && (document.querySelector('svg .tradeoff')?.getAttribute('points') ?? '') !== '', analysis.layers.length);
  }

  host(): Promise<HostStub> {
    return this.page.evaluate(() => (window as unknown as StubWindow).__host);
  }

  /** Rank shown for every layer, by name. */
  async ranks(): Promise<Map<string, number>> {
    const pairs = await this.page.$$eval('table.layers tbody tr', (trs) =>
      trs.map((tr) => [tr.getAttribute('data-name') ?? '', Number(tr.getAttribute('data-rank'))] as const));
    return new Map(pairs);
  }

  async total(key: string): Promise<number> {
    return Number(await this.page.getAttribute(`dd[data-total="${key}"]`, 'data-value'));
  }

  /** Applies a theme the way VS Code does: a body class and CSS variables on <html>. */
  async theme(kind: 'vscode-light' | 'vscode-dark' | 'vscode-high-contrast', vars: Record<string, string>): Promise<void> {
    await this.page.evaluate(({ kind, vars }) => {
      document.body.classList.remove('vscode-light', 'vscode-dark', 'vscode-high-contrast');
      document.body.classList.add(kind);
      for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
    }, { kind, vars });
  }
}
