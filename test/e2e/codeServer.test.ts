// End-to-end in real VS Code: code-server 4.139.1 on Node 24 with the built extension
// installed, a fixture workspace open, driven by playwright-core and Debian Chromium.
// Screenshots of every step (and of any failure) go to .test-artifacts/e2e/.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { tempDir } from '../helpers/cli.js';
import { ensureCodeServer, listExtensions, makeProfile, startCodeServer, type RunningCodeServer } from './codeServer.js';
import { makeFixtureWorkspace, type FixtureWorkspace } from './fixtureWorkspace.js';
import { installUnpacked, type InstalledExtension } from './installExtension.js';
import { launchChromium, Workbench } from './workbench.js';

const root = resolve(import.meta.dirname, '../..');
const artifacts = join(root, '.test-artifacts/e2e');

let server: RunningCodeServer | undefined;
let browser: Browser | undefined;
let wb: Workbench;
let ws: FixtureWorkspace;
let ext: InstalledExtension;
let listed: string[];

before(async () => {
  const installSeconds = ensureCodeServer();
  console.log(`e2e: code-server setup took ${installSeconds.toFixed(1)} s`);
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  const tmp = tempDir('reducible-e2e-');
  ws = await makeFixtureWorkspace(join(tmp, 'workspace'), join(tmp, 'scratch'));
  const profile = makeProfile(join(tmp, 'profile'));
  ext = installUnpacked(profile.extensionsDir);
  listed = listExtensions(profile);
  server = await startCodeServer(profile, join(artifacts, 'code-server.log'));
  browser = await launchChromium();
  wb = await Workbench.open(browser, server.url, ws.dir, artifacts);
  await wb.screenshot('workbench-loaded');
}, { timeout: 20 * 60_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Runs a scenario, saving a screenshot of the workbench if it fails. */
async function scenario(t: TestContext, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    await wb?.screenshot(`FAILED-${t.name.replace(/\W+/g, '-')}`).catch(() => undefined);
    throw e;
  }
}

test('the workbench loads the fixture workspace', { timeout: 60_000 }, (t) => scenario(t, async () => {
  for (const m of ws.models) await wb.revealInExplorer(m);
  await wb.screenshot('explorer');
}));

test('VS Code lists the extension as installed', { timeout: 120_000 }, (t) => scenario(t, async () => {
  assert.ok(listed.includes(`${ext.id}@${ext.version}`), `code-server --list-extensions printed: ${listed.join(', ') || '(nothing)'}`);
  await wb.runCommand('Extensions: Show Installed Extensions');
  const row = wb.page.locator('.extensions-viewlet .monaco-list-row', { hasText: 'Reducible' });
  await row.first().waitFor({ timeout: 60_000 });
  await wb.screenshot('extensions-installed');
  await wb.runCommand('View: Show Explorer');
}));
