// Finds a desktop VS Code build to run the extension-host suite in, or says why there is none:
// $VSCODE_EXECUTABLE (any local VS Code / Code - OSS binary), else the build
// @vscode/test-electron downloads — $VSCODE_VERSION, default "stable" — into the git-ignored
// .vscode-test/ (a cached build is used without the network only when VSCODE_VERSION names it).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { downloadAndUnzipVSCode } from '@vscode/test-electron';

export type VSCodeBuild = { executable: string } | { unavailable: string };

export async function findVSCode(root: string): Promise<VSCodeBuild> {
  const given = process.env.VSCODE_EXECUTABLE;
  if (given) return existsSync(given) ? { executable: given } : { unavailable: `VSCODE_EXECUTABLE=${given} does not exist` };
  const version = process.env.VSCODE_VERSION ?? 'stable';
  try {
    return { executable: await downloadAndUnzipVSCode({ version, cachePath: join(root, '.vscode-test') }) };
  } catch (e) {
    return {
      unavailable: `@vscode/test-electron could not download VS Code ${version} (${(e as Error).message}); `
        + 'on a machine without access to update.code.visualstudio.com, set VSCODE_EXECUTABLE to a VS Code binary',
    };
  }
}
