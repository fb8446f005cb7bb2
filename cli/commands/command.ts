// A CLI sub-command: parses its own flags, returns an exit code.
export interface Command {
  usage: string;
  run(argv: string[]): Promise<number>;
}
