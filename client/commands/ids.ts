// The id of every command the extension contributes. package.json `contributes.commands`
// lists exactly these (test/unit/clientTables.test.ts checks it); commands/index.ts registers
// each one. The ids the server also names (code lenses, code actions) come from shared/.
// No VS Code imports, so tests can read it.
import { COMMANDS } from '../../shared/protocol.js';

export const COMMAND_IDS = {
  ...COMMANDS,
  restartServer: 'reducible.restartServer',
  refreshModels: 'reducible.refreshModels',
} as const;

export type CommandName = keyof typeof COMMAND_IDS;
