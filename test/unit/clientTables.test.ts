// The client's two tables agree with package.json: the commands it registers
// (client/commands/ids.ts) with `contributes.commands`, and the settings it reads
// (client/settings.ts) with `contributes.configuration`, where their defaults live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { COMMAND_IDS } from '../../client/commands/ids.js';
import { SETTING_TYPES } from '../../client/settings.js';
import { DEFAULT_SETTINGS } from '../../shared/protocol.js';

interface Manifest {
  contributes: {
    commands: { command: string }[];
    menus: Record<string, { command: string }[]>;
    configuration: { properties: Record<string, { type: string; default?: unknown }> };
  };
}
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as Manifest;
const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

test('the command table registers exactly the commands package.json contributes', () => {
  const contributed = pkg.contributes.commands.map((c) => c.command);
  assert.equal(new Set(contributed).size, contributed.length, 'a command is contributed twice');
  assert.deepEqual(sorted(Object.values(COMMAND_IDS)), sorted(contributed));
  for (const [menu, items] of Object.entries(pkg.contributes.menus)) {
    for (const { command } of items) assert.ok(contributed.includes(command), `${menu} names ${command}, which is not contributed`);
  }
});

test('the settings the client reads are those package.json declares, each with a default of its type', () => {
  const declared = Object.entries(pkg.contributes.configuration.properties)
    .map(([key, p]) => [key.replace(/^reducible\./, ''), p] as const);
  assert.deepEqual(sorted(Object.keys(SETTING_TYPES)), sorted(declared.map(([name]) => name)));
  for (const [name, p] of declared) {
    assert.equal(p.type, SETTING_TYPES[name as keyof typeof SETTING_TYPES], `reducible.${name}: type`);
    assert.equal(typeof p.default, p.type, `reducible.${name}: a default of its type, so VS Code always has a value`);
  }
});

test("the language server's own defaults (for clients that send no settings) are package.json's", () => {
  const d = (name: string): unknown => pkg.contributes.configuration.properties[`reducible.${name}`].default;
  assert.deepEqual(
    { engine: DEFAULT_SETTINGS.engine, energy: DEFAULT_SETTINGS.energy, maxFileSizeMB: DEFAULT_SETTINGS.maxFileSizeMB, autoRun: DEFAULT_SETTINGS.autoRun, pythonPath: DEFAULT_SETTINGS.pythonPath ?? '' },
    { engine: d('engine'), energy: d('energy'), maxFileSizeMB: d('maxFileSizeMB'), autoRun: d('analysis.autoRun'), pythonPath: d('pythonPath') });
});
