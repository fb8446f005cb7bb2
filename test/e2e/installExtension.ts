// Installs the built extension into a VS Code extensions folder the way VS Code itself
// lays out an installed extension (`<publisher>.<name>-<version>/`), from a snapshot of
// the build so a rebuild running beside the test cannot change it mid-run.
import { cpSync, existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

/** Top-level files and folders an installed extension may reference besides dist/. */
const assets = ['README.md', 'LICENSE', 'CHANGELOG.md', 'package.nls.json', 'media', 'images', 'resources', 'schemas', 'syntaxes'];

export interface InstalledExtension { id: string; version: string; dir: string }

export function installUnpacked(extensionsDir: string): InstalledExtension {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
  const id = `${pkg.publisher}.${pkg.name}`;
  const dir = join(extensionsDir, `${id}-${pkg.version}`);
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
  for (const a of assets) if (existsSync(join(root, a))) cpSync(join(root, a), join(dir, a), { recursive: true });
  // The bundles leave native and wasm packages (onnxruntime-node, h5wasm, …) external;
  // they resolve from the repository's installed dependencies.
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { id, version: pkg.version, dir };
}
