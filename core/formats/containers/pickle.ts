// A pickle *parser*: it reads the opcode stream into plain values and never runs anything.
// Only the opcodes a tensor checkpoint needs are understood; every GLOBAL is looked up in a
// caller-supplied whitelist, and REDUCE may only apply what that whitelist returned as a
// PickleCallable. Anything else — another global, another opcode — is refused with an
// InputError before any later opcode is looked at.
import { InputError } from '../../types.js';

/** A whitelisted function that REDUCE may apply; `call` must be pure (build a value, no I/O). */
export class PickleCallable {
  constructor(readonly name: string, readonly call: (args: unknown[]) => unknown) {}
}

export interface PickleHooks {
  /** Returns the value a `module.name` global stands for, or undefined to refuse it. */
  global(module: string, name: string): unknown;
  /** Resolves a BINPERSID reference (PyTorch uses these for tensor storages). */
  persistentLoad(pid: unknown): unknown;
  /** Appended to a refused global's message: what the user can do instead. */
  refusalHint?: string;
}

export function parsePickle(bytes: Uint8Array, file: string, hooks: PickleHooks): unknown {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;

  const fail = (msg: string): never => { throw new InputError(file, `pickle: ${msg}`); };
  const need = (n: number): number => {
    if (n < 0 || pos + n > bytes.length) fail(`truncated at byte ${pos}`);
    const at = pos; pos += n; return at;
  };
  const u8 = (): number => bytes[need(1)];
  const u16 = (): number => dv.getUint16(need(2), true);
  const u32 = (): number => dv.getUint32(need(4), true);
  const u64 = (): number => {
    const v = dv.getBigUint64(need(8), true);
    return v > BigInt(bytes.length) ? fail(`length ${v} runs past the end`) : Number(v);
  };
  const text = (n: number): string => {
    const at = need(n);
    try { return utf8.decode(bytes.subarray(at, at + n)); } catch { return fail(`invalid UTF-8 at byte ${at}`); }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(`unterminated GLOBAL at byte ${pos}`);
    return text(end - pos + 1).slice(0, -1);
  };
  const pop = (): unknown => (stack.length > (marks.at(-1) ?? 0) ? stack.pop() : fail(`stack underflow at byte ${pos}`));
  const top = (): unknown => (stack.length > (marks.at(-1) ?? 0) ? stack[stack.length - 1] : fail(`stack underflow at byte ${pos}`));
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) return fail(`no MARK before byte ${pos}`);
    return stack.splice(m);
  };
  const push = (v: unknown): void => { stack.push(v); };
  const lookupGlobal = (module: string, name: string): void => {
    const v = hooks.global(module, name);
    if (v === undefined) throw new InputError(file, `refusing pickle global ${module}.${name} (nothing from the file is run)${hooks.refusalHint ? `; ${hooks.refusalHint}` : ''}`);
    push(v);
  };
  const setItems = (dict: unknown, kv: unknown[]): void => {
    if (!(dict instanceof Map)) fail(`SETITEM on a non-dict at byte ${pos}`);
    for (let i = 0; i + 1 < kv.length; i += 2) (dict as Map<unknown, unknown>).set(kv[i], kv[i + 1]);
  };
  const appendItems = (list: unknown, items: unknown[]): void => {
    if (!Array.isArray(list)) fail(`APPEND on a non-list at byte ${pos}`);
    // A loop, not push(...items): a hostile APPENDS of millions of items would overflow the call stack.
    for (const item of items) (list as unknown[]).push(item);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); break; // FRAME: a length hint only
      case 0x2e: { // STOP
        if (stack.length !== 1 || marks.length) fail('malformed stream: STOP with a non-empty stack');
        return stack[0];
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x7d: push(new Map()); break; // EMPTY_DICT
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x29: push([]); break; // EMPTY_TUPLE
      case 0x64: { const kv = popMark(); const d = new Map(); setItems(d, kv); push(d); break; } // DICT
      case 0x6c: case 0x74: push(popMark()); break; // LIST, TUPLE
      case 0x85: push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(), a = pop(); push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(), b = pop(), a = pop(); push([a, b, c]); break; } // TUPLE3
      case 0x58: push(text(u32())); break; // BINUNICODE
      case 0x8c: push(text(u8())); break; // SHORT_BINUNICODE
      case 0x8d: push(text(u64())); break; // BINUNICODE8
      case 0x55: push(text(u8())); break; // SHORT_BINSTRING (Python 2 str)
      case 0x54: push(text(u32())); break; // BINSTRING
      case 0x43: { const n = u8(), s = need(n); push(bytes.slice(s, s + n)); break; } // SHORT_BINBYTES
      case 0x42: { const n = u32(), s = need(n); push(bytes.slice(s, s + n)); break; } // BINBYTES
      case 0x4a: push(dv.getInt32(need(4), true)); break; // BININT
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x8a: push(long1(bytes.subarray(need(u8()), pos), fail)); break; // LONG1
      case 0x47: push(dv.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4e: push(null); break; // NONE
      case 0x73: { const v = pop(), k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`memo ${i} read before it was written`);
        push(memo.get(i));
        break;
      }
      case 0x63: { const module = line(); lookupGlobal(module, line()); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail(`STACK_GLOBAL with non-string names at byte ${at}`);
        lookupGlobal(module as string, name as string);
        break;
      }
      case 0x52: { // REDUCE
        const args = pop(), fn = pop();
        if (!(fn instanceof PickleCallable)) return fail(`REDUCE of a value that is not a whitelisted function at byte ${at}`);
        if (!Array.isArray(args)) return fail(`REDUCE of ${fn.name} without an argument tuple`);
        push(fn.call(args));
        break;
      }
      case 0x62: { // BUILD: only dict subclasses (OrderedDict state dicts carry `_metadata`), state ignored
        pop();
        if (!(top() instanceof Map)) fail(`BUILD on a non-dict object at byte ${at}`);
        break;
      }
      case 0x51: push(hooks.persistentLoad(pop())); break; // BINPERSID
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}`);
    }
  }
}

/** LONG1: little-endian two's complement; only values that fit a double exactly. */
function long1(b: Uint8Array, fail: (m: string) => never): number {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b.length && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) fail(`integer ${v} is too large`);
  return Number(v);
}
