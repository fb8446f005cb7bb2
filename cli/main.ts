// `reducible` command line: thin wrapper over core. Exit codes (contract): 0 ok,
// 1 runtime failure, 2 bad usage or unreadable / unsupported input, one line, no stack.
import { InputError } from '../core/types.js';
import { EXIT_CODES } from '../shared/jobProtocol.js';
import { analyze } from './commands/analyze.js';
import { compress } from './commands/compress.js';
import { evaluateCommand } from './commands/evaluate.js';
import type { Command } from './commands/command.js';
import { demo } from './commands/demo.js';
import { jobError } from './errors.js';

const COMMANDS: Record<string, Command> = { analyze, compress, evaluate: evaluateCommand, demo };

function usage(): string {
  return `usage:\n${Object.values(COMMANDS).map((c) => `  ${c.usage}`).join('\n')}`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') { console.log(usage()); return name ? 0 : 2; }
  const cmd = COMMANDS[name];
  if (!cmd) throw new InputError(undefined, `unknown command "${name}" (try --help)`);
  if (rest.includes('--help') || rest.includes('-h')) { console.log(`usage:\n  ${cmd.usage}`); return 0; }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    const { code, message } = jobError(err);
    console.error(`reducible: ${message}`);
    if (code === 'runtime' && process.env.REDUCIBLE_DEBUG) console.error(err);
    process.exitCode = EXIT_CODES[code];
  },
);
