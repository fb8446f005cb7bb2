// Packages the built extension into the universal .vsix exactly as `npm run package` does
// (scripts/package.mjs) and installs it the way a user would: code-server's
// --install-extension. dist/ must already be built; packaging does not rebuild it, so a
// test run never rewrites bundles that other tests are reading.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CODE_SERVER_ENTRY, NODE24, profileArgs, type Profile } from './codeServer.js';

const root = resolve(import.meta.dirname, '../..');

export interface InstalledExtension { id: string; version: string; vsix: string }

export function packageVsix(outDir: string): string {
  const vsix = join(outDir, 'reducible.vsix');
  execFileSync(process.execPath, [join(root, 'scripts/package.mjs'), '--no-build', '-o', vsix], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  return vsix;
}

export function installVsix(p: Profile, vsix: string): InstalledExtension {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
  execFileSync(NODE24, [CODE_SERVER_ENTRY, ...profileArgs(p), '--install-extension', vsix], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  return { id: `${pkg.publisher}.${pkg.name}`, version: pkg.version, vsix };
}
