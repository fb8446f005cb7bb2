// Minimal flag parser: `--name value`, `--flag`, `-o value`, positionals. Unknown flags are errors.
import { InputError } from '../core/types.js';

export interface FlagSpec { [name: string]: 'string' | 'boolean' }

export function parseArgs(argv: string[], spec: FlagSpec, aliases: Record<string, string> = {}): { flags: Record<string, string | boolean>; positional: string[] } {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-') || a === '-') { positional.push(a); continue; }
    let name = a.replace(/^--?/, '');
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) { value = name.slice(eq + 1); name = name.slice(0, eq); }
    name = aliases[name] ?? name;
    const type = spec[name];
    if (!type) throw new InputError(undefined, `unknown option ${a}`);
    if (type === 'boolean') { flags[name] = true; continue; }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new InputError(undefined, `option --${name} needs a value`);
    }
    flags[name] = value;
  }
  return { flags, positional };
}

export function numberFlag(flags: Record<string, string | boolean>, name: string, min: number, max: number, minExclusive = false): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || n > max || (minExclusive ? n <= min : n < min)) {
    throw new InputError(undefined, `--${name} must be a number in ${minExclusive ? '(' : '['}${min}, ${max}], got ${String(v)}`);
  }
  return n;
}
