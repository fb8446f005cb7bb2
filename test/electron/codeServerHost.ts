// Runs the extension-host suite inside code-server's extension host (VS Code's own, on
// Node 24), for machines where no desktop VS Code can be had. code-server has no
// --extensionTestsPath, so the suite is installed as a small extension beside ours
// (suite/harness.ts) and reports through a log file; a browser must connect for the
// extension host to start.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { ensureCodeServer, makeProfile, startCodeServer } from '../e2e/codeServer.js';
import type { FixtureWorkspace } from '../e2e/fixtureWorkspace.js';
import { installVsix, packageVsix } from '../e2e/installExtension.js';
import { launchChromium, Workbench } from '../e2e/workbench.js';

const root = resolve(import.meta.dirname, '../..');

async function installHarness(extensionsDir: string): Promise<void> {
  const dir = join(extensionsDir, 'reducible.suite-harness-0.0.0');
  mkdirSync(dir, { recursive: true });
  await build({ entryPoints: [join(root, 'test/electron/suite/harness.ts')], outfile: join(dir, 'extension.cjs'), bundle: true, format: 'cjs', platform: 'node', target: 'node20', external: ['vscode'], logLevel: 'warning' });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({
    name: 'suite-harness', publisher: 'reducible', version: '0.0.0', engines: { vscode: '^1.90.0' },
    main: './extension.cjs', activationEvents: ['onStartupFinished'],
  }));
}

/** Returns the suite's log; its last line is `RESULT pass` or `RESULT fail: …`. */
export async function runInCodeServer(tmp: string, ws: FixtureWorkspace, extensionId: string, timeoutMs: number): Promise<string> {
  ensureCodeServer();
  const profile = makeProfile(join(tmp, 'profile'));
  // The harness goes in first: installing the vsix indexes the folder's extensions once
  // (extensions.json), and a folder added after that would not be seen.
  await installHarness(profile.extensionsDir);
  installVsix(profile, packageVsix(tmp));
  const log = join(tmp, 'suite.log');
  const server = await startCodeServer(profile, join(tmp, 'code-server.log'), {
    REDUCIBLE_FIXTURE: JSON.stringify(ws), REDUCIBLE_EXTENSION_ID: extensionId, REDUCIBLE_SUITE_LOG: log,
  });
  const browser = await launchChromium();
  try {
    const wb = await Workbench.open(browser, server.url, ws.dir, join(root, '.test-artifacts/electron'));
    const started = Date.now();
    for (;;) {
      const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
      if (/^RESULT /m.test(text)) {
        await wb.screenshot('suite-finished');
        return text;
      }
      // The first scenario logs within seconds of activation; silence means no activation.
      if (!text && Date.now() - started > 120_000) return 'RESULT fail: the suite harness was not activated within 120 s';
      if (Date.now() - started > timeoutMs) return `${text}RESULT fail: no result within ${timeoutMs / 1000} s`;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await browser.close();
    await server.stop();
  }
}
