// Finds a desktop VS Code build to run the extension-host suite in, or says why there is none.
// Order: $VSCODE_EXECUTABLE (any local VS Code / Code - OSS binary), then
// @vscode/test-electron's download of $VSCODE_VERSION (default "stable") when that package
// is installed and the download server is reachable.
import { existsSync } from 'node:fs';

export type VSCodeBuild = { executable: string } | { skip: string };

/** The part of @vscode/test-electron this runner uses; imported only when installed. */
interface TestElectron { downloadAndUnzipVSCode(version?: string): Promise<string> }

export async function findVSCode(): Promise<VSCodeBuild> {
  const given = process.env.VSCODE_EXECUTABLE;
  if (given) return existsSync(given) ? { executable: given } : { skip: `VSCODE_EXECUTABLE=${given} does not exist` };
  let testElectron: TestElectron;
  try {
    // A variable specifier keeps TypeScript from requiring the (deliberately absent) package.
    const name = '@vscode/test-electron';
    testElectron = await import(name) as TestElectron;
  } catch {
    return { skip: 'no VS Code build: @vscode/test-electron is not installed and VSCODE_EXECUTABLE is not set '
      + '(on a machine that can download VS Code: npm i --no-save @vscode/test-electron, or point VSCODE_EXECUTABLE at a VS Code binary)' };
  }
  try {
    return { executable: await testElectron.downloadAndUnzipVSCode(process.env.VSCODE_VERSION ?? 'stable') };
  } catch (e) {
    return { skip: `could not download VS Code with @vscode/test-electron: ${(e as Error).message}` };
  }
}
