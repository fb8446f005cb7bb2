// The panel page's Content-Security-Policy, enforced by Chromium on the built page (workspace
// trust does not protect a webview: a model's names end up in its DOM). Scripts run only with
// the page's nonce, and nothing is fetched from anywhere but the webview's own origin.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchChromium, Panel, type Browser } from './harness.js';

const REMOTE = 'https://example.com';

describe('tradeoff panel CSP (built page in Chromium)', () => {
  let browser: Browser;
  let panel: Panel;
  /** How each remote request ended: Chromium lists blocked ones as failed, reason "csp". */
  const remote = new Map<string, string>();
  before(async () => {
    browser = await launchChromium();
    panel = await Panel.open(browser);
    panel.page.on('requestfailed', (r) => { if (r.url().startsWith(REMOTE)) remote.set(r.url(), r.failure()?.errorText ?? 'failed'); });
    panel.page.on('response', (r) => { if (r.url().startsWith(REMOTE)) remote.set(r.url(), `answered ${r.status()}`); });
  });
  after(async () => { await browser?.close(); });

  const violations = async (): Promise<string[]> => (await panel.host()).violations;

  test('an inline script without the nonce, or with a wrong one, does not run', async () => {
    const ran = await panel.page.evaluate(async () => {
      const w = window as unknown as { ranPlain?: boolean; ranWrongNonce?: boolean; ranHandler?: boolean };
      const plain = document.createElement('script');
      plain.textContent = 'window.ranPlain = true';
      document.body.append(plain);
      const wrong = document.createElement('script');
      wrong.setAttribute('nonce', 'not-the-page-nonce');
      wrong.textContent = 'window.ranWrongNonce = true';
      document.body.append(wrong);
      // An inline event handler is inline script too.
      const img = document.createElement('img');
      img.setAttribute('onerror', 'window.ranHandler = true');
      img.src = 'data:image/png;base64,broken';
      document.body.append(img);
      await new Promise((r) => setTimeout(r, 200));
      return [w.ranPlain, w.ranWrongNonce, w.ranHandler];
    });
    assert.deepEqual(ran, [undefined, undefined, undefined]);
    const v = await violations();
    assert.ok(v.filter((x) => x.startsWith('script-src')).length >= 3, v.join('; '));
  });

  test('remote scripts, styles, images, fonts and fetches are blocked by the CSP', async () => {
    const before = (await violations()).length;
    const fetched = await panel.page.evaluate(async (remote) => {
      const script = document.createElement('script');
      script.src = `${remote}/x.js`;
      document.head.append(script);
      const link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = `${remote}/x.css`;
      document.head.append(link);
      const img = document.createElement('img');
      img.src = `${remote}/x.png`;
      document.body.append(img);
      const font = new FontFace('remote', `url(${remote}/x.woff2)`);
      await font.load().catch(() => undefined);
      const ok = await fetch(`${remote}/x.json`).then(() => true, () => false);
      await new Promise((r) => setTimeout(r, 200));
      return ok;
    }, REMOTE);
    assert.equal(fetched, false);
    const v = (await violations()).slice(before);
    for (const directive of ['script-src', 'style-src', 'img-src', 'font-src', 'connect-src']) {
      assert.ok(v.some((x) => x.startsWith(directive) && x.includes(REMOTE)), `${directive} blocked ${REMOTE}: ${v.join('; ')}`);
    }
    assert.deepEqual([...remote.values()].filter((how) => how !== 'csp'), [], JSON.stringify([...remote]));
  });
});
