import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layering of DESIGN.md, as import rules per folder (the per-folder tsconfig projects
// enforce the libs: no DOM in core, no node in webview). `up` matches a relative import that
// climbs out of the folder into one of the named top-level folders.
const up = (...folders) => `^(\\.\\./)+(${folders.join('|')})(/|$)`;
const NODE_BUILTINS = ['node:*', 'fs', 'fs/*', 'path', 'os', 'crypto', 'child_process', 'worker_threads', 'url', 'module', 'stream', 'events', 'util', 'buffer'];
const layer = (files, patterns) => ({ files, rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] } });
const VSCODE = { group: ['vscode'], message: 'only client/ talks to the VS Code API' };
const LANGUAGE_CLIENT = { group: ['vscode-languageclient', 'vscode-languageclient/*'], message: 'only client/ is a language client' };
const layers = [
  layer(['core/**/*.ts'], [
    VSCODE, LANGUAGE_CLIENT,
    { group: ['vscode-languageserver', 'vscode-languageserver/*'], message: 'core is the engine: the language server lives in server/' },
    { regex: up('server', 'client', 'webview', 'cli'), message: 'core is imported by the other folders, never the other way round' },
  ]),
  layer(['server/**/*.ts'], [
    VSCODE, LANGUAGE_CLIENT,
    { regex: up('client', 'webview', 'cli'), message: 'the server uses core/ and shared/ only (shared helpers belong in core/)' },
  ]),
  layer(['client/**/*.ts'], [
    { regex: up('server', 'webview'), message: 'the client reaches the server over LSP (shared/protocol.ts) and the panel by messages (shared/panelProtocol.ts)' },
  ]),
  layer(['cli/**/*.ts'], [
    VSCODE, LANGUAGE_CLIENT,
    { regex: up('server', 'client', 'webview'), message: 'the CLI is a thin wrapper over core/' },
  ]),
  layer(['webview/**/*.ts'], [
    VSCODE,
    { group: NODE_BUILTINS, message: 'the panel runs in a browser: no node modules' },
    { regex: up('server', 'client', 'cli'), message: 'the panel talks to the extension by messages (shared/panelProtocol.ts)' },
    // Most of core reads files and starts workers; the panel may import its types, and run
    // only the pure modules listed here (they import nothing from node).
    { regex: '^(\\.\\./)+core/(?!ranks/|text/|io/decode\\.js$)', allowTypeImports: true,
      message: 'the panel imports only types from core/, besides its pure modules (core/ranks, core/text, core/io/decode)' },
  ]),
  layer(['shared/**/*.ts'], [
    VSCODE, LANGUAGE_CLIENT,
    { group: NODE_BUILTINS, message: 'shared/ is types and constants every side imports, the panel too: no node modules' },
    { regex: up('server', 'client', 'webview', 'cli'), message: 'shared/ is imported by the other folders, never the other way round' },
    { regex: up('core'), allowTypeImports: true, message: 'shared/ may name core/ types, not run core/ code' },
  ]),
];

export default tseslint.config(
  { ignores: ['dist/**', 'bench/gpu/carry/**', 'bench/gpu/work*/**', 'bench/real-models/work/**', 'node_modules/**', 'out/**', '.test-artifacts/**', '.vscode-test/**', 'examples/**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...layers,
  {
    // Settings' defaults are declared once, in package.json; VS Code returns them for unset settings.
    files: ['client/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: "CallExpression[callee.type='MemberExpression'][callee.property.name='get'][arguments.length=2]",
        message: 'a setting read with a default repeats package.json: read it through client/config.ts without one',
      }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
