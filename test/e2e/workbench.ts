// Drives the VS Code workbench in Debian's Chromium through playwright-core, the way a
// user would: command palette, explorer, editor, context menus. Selectors are VS Code's
// own stable class names (monaco-workbench, quick-input-widget, monaco-list-row, …).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type FrameLocator, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Launches Chromium with a fresh temporary profile (Playwright's default for launch()). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumArgs });
}

export class Workbench {
  private shots = 0;
  constructor(readonly page: Page, private readonly artifacts: string) {
    mkdirSync(artifacts, { recursive: true });
  }

  static async open(browser: Browser, url: string, folder: string, artifacts: string): Promise<Workbench> {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(`${url}/?folder=${encodeURIComponent(folder)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 90_000 });
    return new Workbench(page, artifacts);
  }

  /** Saves a numbered full-page screenshot under the artifacts folder; returns its path. */
  async screenshot(name: string): Promise<string> {
    const path = join(this.artifacts, `${String(++this.shots).padStart(2, '0')}-${name}.png`);
    await this.page.screenshot({ path });
    return path;
  }

  private quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  quickPickRow(text: string | RegExp): Locator {
    return this.quickInput().locator('.monaco-list-row', { hasText: text }).first();
  }

  /** Picks the visible quick-input row whose label contains `text`. */
  async pick(text: string | RegExp, timeout = 30_000): Promise<void> {
    const row = this.quickPickRow(text);
    await row.waitFor({ timeout });
    // A click that lands while the list is still being laid out is lost (seen in CI): when the
    // row is still there afterwards, the pick did not happen — click again. A resting mouse can
    // also raise another row's description hover over the target (seen in CI): move it off the
    // widget first so that hover closes.
    for (let attempt = 0; attempt < 3; attempt++) {
      await this.page.mouse.move(0, 0);
      await row.click({ timeout: 8_000 }).catch(() => undefined);
      if (await row.waitFor({ state: 'hidden', timeout: 3_000 }).then(() => true, () => false)) return;
    }
    throw new Error(`quick pick row "${String(text)}" did not accept the click`);
  }

  /** Waits for the input box (showInputBox) showing `prompt`, replaces its value and accepts it. */
  async answerInputBox(prompt: string, value: string): Promise<void> {
    await this.quickInput().filter({ hasText: prompt }).waitFor();
    const input = this.quickInput().locator('input');
    await input.fill(value);
    await input.press('Enter');
  }

  /**
   * Accepts VS Code's own save dialog (the quick-input one the browser workbench uses) once it
   * proposes a path ending in `fileName`.
   */
  async acceptSaveDialog(fileName: string): Promise<void> {
    const input = this.quickInput().locator('input');
    await input.waitFor();
    for (let attempt = 0; ; attempt++) {
      if ((await input.inputValue()).endsWith(fileName)) break;
      if (attempt === 20) throw new Error(`the save dialog proposes ${await input.inputValue()}, not …/${fileName}`);
      await this.page.waitForTimeout(250);
    }
    await input.press('Enter');
    await this.quickInput().waitFor({ state: 'hidden' });
  }

  /**
   * Runs a command by its palette title, as typed into F1. The palette can open before the
   * workbench has registered its commands, or lose the typed filter to a focus change (a CI
   * run found no row for 30 s): when no row shows, close it and type again.
   */
  async runCommand(title: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('Escape');
      await this.page.keyboard.press('F1');
      const input = this.quickInput().locator('input');
      await input.waitFor();
      await input.fill(`>${title}`);
      const shown = await this.quickPickRow(title).waitFor({ timeout: 15_000 }).then(() => true, () => false);
      if (shown || attempt === 3) return this.pick(title);
      await this.screenshot(`palette-without-${title.replace(/\W+/g, '-')}`);
    }
  }

  /** Opens a workspace file through Quick Open. */
  async openFile(relPath: string): Promise<void> {
    await this.page.keyboard.press('Escape');
    await this.page.keyboard.press('F1');
    const input = this.quickInput().locator('input');
    await input.waitFor();
    await input.fill(relPath);
    const base = relPath.split('/').pop()!;
    await this.pick(base);
    await this.page.locator(`.tabs-container .tab[aria-label*="${base}"]`).first().waitFor();
    await this.page.locator('.monaco-editor .view-lines').first().waitFor();
  }

  /** Moves the active editor's cursor onto the first occurrence of `text` (Find, then close Find). */
  async moveCursorTo(text: string): Promise<void> {
    await this.page.locator('.monaco-editor .view-lines').first().click();
    await this.page.keyboard.press('Control+Home');
    await this.page.keyboard.press('Control+F');
    const find = this.page.locator('.find-widget textarea, .find-widget input').first();
    await find.waitFor();
    await find.fill(text);
    await this.page.locator('.find-widget .matchesCount', { hasText: /^1 of/ }).waitFor();
    await this.page.keyboard.press('Escape');
    // Find leaves the match selected with the cursor at its end; step back inside it.
    await this.page.keyboard.press('ArrowLeft');
  }

  /** Rests the mouse on the editor text `token` (exact text of one token, e.g. `"dense_1"`)
   *  and returns the text of the hover it brings up, or '' when none appears within `timeout`.
   *  Finding the token may wait longer: on a loaded machine (CI beside other work) the editor
   *  took over 30 s, Playwright's default, to render it. */
  async hoverOver(token: string, timeout = 5_000): Promise<string> {
    await this.page.mouse.move(0, 0);
    await this.page.locator('.monaco-editor .view-lines').getByText(token, { exact: true }).first().hover({ timeout: 90_000 });
    const hover = this.page.locator('.monaco-editor .monaco-hover:not(.hidden)').first();
    try {
      await hover.waitFor({ timeout });
    } catch {
      return '';
    }
    return hover.innerText();
  }

  /** The body of a side-bar view (Explorer's "Outline", an extension's view, …), expanded. */
  async viewPane(title: string): Promise<Locator> {
    const header = this.page.locator('.pane-header', { has: this.page.locator(`.title:text-is(${JSON.stringify(title)})`) }).first();
    await header.waitFor();
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
    return header.locator('xpath=..').locator('.pane-body');
  }

  /** The explorer row of a file or folder, found by its label. */
  explorerRow(name: string): Locator {
    return this.page.locator(`.explorer-folders-view .monaco-list-row[aria-label=${JSON.stringify(name)}]`);
  }

  /** Expands collapsed explorer folders along `relPath` so its file row is rendered. */
  async revealInExplorer(relPath: string): Promise<Locator> {
    const parts = relPath.split('/');
    for (const folder of parts.slice(0, -1)) {
      const row = this.explorerRow(folder);
      if ((await row.getAttribute('aria-expanded')) === 'false') await row.click();
    }
    const row = this.explorerRow(parts.at(-1)!);
    await row.waitFor();
    return row;
  }

  /** The outer iframe VS Code hosts a webview in, once its content has loaded. */
  webviewFrame(): Locator {
    return this.page.locator('iframe.webview.ready').first();
  }

  /** The page of the visible webview (a panel's own HTML): VS Code nests it in a second iframe. */
  webview(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
  }

  /** Right-clicks an explorer row and chooses a context-menu item by its label. */
  async explorerContextMenu(row: Locator, item: string | RegExp): Promise<void> {
    await row.click({ button: 'right' });
    const entry = this.page.locator('.monaco-menu .action-item .action-label', { hasText: item }).first();
    await entry.waitFor();
    const menu = this.page.locator('.monaco-menu').first();
    // As with quick picks, a click can be lost while the menu animates in: when the menu is
    // still open afterwards, activate the (now focused) item from the keyboard instead.
    await entry.click();
    if (await menu.waitFor({ state: 'hidden', timeout: 3_000 }).then(() => true, () => false)) return;
    await entry.hover();
    await this.page.keyboard.press('Enter');
    await menu.waitFor({ state: 'hidden', timeout: 5_000 });
  }
}
