// Bundles every entry point with esbuild. Entries whose source is absent are skipped so a
// partial checkout still builds.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
// ESM bundles may contain CommonJS dependencies that call require(); give them one.
const requireShim = "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

const entries = [
  // The CLI's entry supervises a compress job without loading the rest (cli/entry.ts), kept in cliMain.js.
  { in: 'cli/entry.ts', out: 'dist/cli.js', format: 'esm', platform: 'node', plugins: [{ name: 'cli-main', setup: (b) => b.onResolve({ filter: /^\.\/main\.js$/ }, () => ({ path: './cliMain.js', external: true })) }] },
  { in: 'cli/main.ts', out: 'dist/cliMain.js', format: 'esm', platform: 'node' },
  { in: 'server/main.ts', out: 'dist/server.js', format: 'esm', platform: 'node' },
  { in: 'core/engines/workerMain.ts', out: 'dist/worker.js', format: 'esm', platform: 'node' },
  { in: 'core/formats/containers/h5Thread.ts', out: 'dist/h5Worker.js', format: 'esm', platform: 'node' },
  { in: 'client/extension.ts', out: 'dist/extension.cjs', format: 'cjs', platform: 'node' },
  { in: 'webview/main.ts', out: 'dist/webview.js', format: 'iife', platform: 'browser' },
];

// tfjs and onnxruntime load .wasm/.node files relative to their own package: keep them external.
const external = ['vscode', 'onnxruntime-node', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'h5wasm', 'h5wasm/node'];

await Promise.all(entries.filter((e) => existsSync(e.in)).map((e) => build({
  entryPoints: [e.in],
  outfile: e.out,
  bundle: true,
  format: e.format,
  platform: e.platform,
  target: e.platform === 'node' ? 'node20' : 'chrome120',
  sourcemap: true,
  minify: e.platform === 'browser',
  external: e.platform === 'node' ? external : [],
  banner: e.format === 'esm' ? { js: requireShim } : undefined,
  plugins: e.plugins,
  logLevel: 'warning',
})));
if (watch) console.log('watch mode is not supported; rerun npm run build');
