// Packages the extension with vsce. Without --target: the universal .vsix, which runs TF.js
// and Keras models everywhere but carries no onnxruntime (native): ONNX whitening, its guard
// and evaluation then say onnxruntime-node is missing. With --target <platform>: a platform
// .vsix (vsce's --target, as the Marketplace serves per platform) that also carries
// onnxruntime-node with that platform's binary only (linux-x64 ≈ 20 MB more, zipped).
// Usage: node scripts/package.mjs [--target linux-x64|linux-arm64|darwin-arm64|win32-x64|win32-arm64] [-o out.vsix]
//        [--no-build]  (package dist/ as it is: tests do, so they never rewrite bundles other tests read)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** vsce targets onnxruntime-node ships a CPU binary for, and that binary's folder. */
const ORT_BINARIES = {
  'linux-x64': 'linux/x64', 'linux-arm64': 'linux/arm64', 'darwin-arm64': 'darwin/arm64', 'win32-x64': 'win32/x64', 'win32-arm64': 'win32/arm64',
};

const args = process.argv.slice(2);
const option = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const target = option('--target'), out = option('-o') && resolve(option('-o'));
if (target !== undefined && !Object.hasOwn(ORT_BINARIES, target)) {
  console.error(`package: --target must be one of ${Object.keys(ORT_BINARIES).join(', ')} (onnxruntime-node's CPU builds), got ${target}`);
  process.exit(2);
}

if (!args.includes('--no-build')) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
const dir = mkdtempSync(join(tmpdir(), 'reducible-package-'));
try {
  // The platform build adds onnxruntime's JavaScript and its one binary to what .vscodeignore keeps.
  const ignore = join(dir, '.vscodeignore');
  writeFileSync(ignore, readFileSync(join(root, '.vscodeignore'), 'utf8') + (target ? [
    '', `# onnxruntime-node for ${target} (scripts/package.mjs)`,
    '!node_modules/onnxruntime-node/package.json', '!node_modules/onnxruntime-node/LICENSE*', '!node_modules/onnxruntime-node/dist/*.js',
    `!node_modules/onnxruntime-node/bin/napi-v6/${ORT_BINARIES[target]}/**`,
    '!node_modules/onnxruntime-common/package.json', '!node_modules/onnxruntime-common/LICENSE*',
    '!node_modules/onnxruntime-common/dist/*/*.js', '!node_modules/onnxruntime-common/dist/*/package.json', '',
  ].join('\n') : ''));
  execFileSync(join(root, 'node_modules', '.bin', 'vsce'), [
    'package', '--skip-license', '--allow-missing-repository', '--no-rewrite-relative-links', '--ignoreFile', ignore,
    ...(target ? ['--target', target] : []), ...(out ? ['-o', out] : []),
  ], { cwd: root, stdio: 'inherit' });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
