// `npm run test:electron`: the same scenarios as the code-server suite, run inside a desktop
// VS Code's extension host the way @vscode/test-electron runs them (--extensionDevelopmentPath
// + --extensionTestsPath). Where no VS Code build is available the test is reported as
// skipped with the reason, never as passed. Kept out of `npm test` (not a *.test.ts file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { tempDir } from '../helpers/cli.js';
import { makeFixtureWorkspace } from '../e2e/fixtureWorkspace.js';
import { findVSCode } from './findVSCode.js';

const root = resolve(import.meta.dirname, '../..');
const vscode = await findVSCode();
const display = displayWrapper();
const skip = 'skip' in vscode ? vscode.skip : display.skip;

/** Linux without a display needs a virtual one; xvfb-run (Debian: xvfb) provides it. */
function displayWrapper(): { prefix: string[]; skip?: string } {
  if (process.platform !== 'linux' || process.env.DISPLAY || process.env.WAYLAND_DISPLAY) return { prefix: [] };
  const r = spawnSync('sh', ['-c', 'command -v xvfb-run'], { encoding: 'utf8' });
  return r.status === 0 ? { prefix: [r.stdout.trim(), '-a'] } : { prefix: [], skip: 'no display and no xvfb-run (apt-get install xvfb)' };
}

test('scenarios in the VS Code extension host', { skip, timeout: 15 * 60_000 }, async () => {
  if ('skip' in vscode) return;
  const tmp = tempDir('reducible-electron-');
  const suite = join(tmp, 'suite.cjs');
  await build({ entryPoints: [join(root, 'test/electron/suite/index.ts')], outfile: suite, bundle: true, format: 'cjs', platform: 'node', target: 'node20', external: ['vscode'], logLevel: 'warning' });
  const ws = await makeFixtureWorkspace(join(tmp, 'workspace'), join(tmp, 'scratch'));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { publisher: string; name: string };
  for (const d of ['user-data', 'extensions']) mkdirSync(join(tmp, d));
  const args = [vscode.executable, ws.dir, `--extensionDevelopmentPath=${root}`, `--extensionTestsPath=${suite}`,
    `--user-data-dir=${join(tmp, 'user-data')}`, `--extensions-dir=${join(tmp, 'extensions')}`,
    '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes', '--disable-updates', '--no-sandbox', '--disable-gpu'];
  const [cmd, ...rest] = [...display.prefix, ...args];
  const r = spawnSync(cmd, rest, {
    stdio: 'inherit', timeout: 14 * 60_000,
    env: { ...process.env, REDUCIBLE_FIXTURE: JSON.stringify(ws), REDUCIBLE_EXTENSION_ID: `${pkg.publisher}.${pkg.name}`, ELECTRON_RUN_AS_NODE: undefined },
  });
  assert.equal(r.status, 0, `VS Code exited with ${r.status ?? r.signal}; the scenario log is above`);
});
