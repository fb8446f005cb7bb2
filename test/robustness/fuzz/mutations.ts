// Mutations of a seed model as plain data (so a worker can apply them and a failure can be
// printed and replayed), their fast-check arbitraries, and how each is applied to bytes.
// Positions are taken modulo the target's size, so one descriptor applies to any seed.
import fc from 'fast-check';
import type { Field, SeedFile } from './seeds.js';
import { JSON_CODECS } from './codecs.js';

/** Integers that break length arithmetic: sign bits, 32/53/64-bit edges, off-by-one. */
const INTERESTING = ['0', '1', '127', '128', '255', '32767', '65535', '2147483647', '2147483648', '4294967295', '4294967296', '9007199254740991', '9223372036854775808', '18446744073709551615'];

export type ByteEdit =
  | { k: 'set'; at: number; v: number }
  | { k: 'flip'; at: number; bit: number }
  | { k: 'truncate'; keep: number }
  | { k: 'splice'; from: number; len: number; to: number; mode: 'insert' | 'overwrite' | 'delete' }
  | { k: 'int'; at: number; width: 1 | 2 | 4 | 8; value: string }
  /** A located length/size/dimension field (see seeds.ts) set to `value`, or grown by `delta`. */
  | { k: 'field'; which: number; value?: string; delta?: number };

export type JsonEdit = { node: number; op: 'replace' | 'delete' | 'duplicate'; value: unknown };

export interface Mutation { file: number; bytes: ByteEdit[]; json: JsonEdit[] }

const pos = fc.nat({ max: 1 << 30 });
const interesting = fc.oneof(fc.constantFrom(...INTERESTING), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String));

const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('set' as const), at: pos, v: fc.nat(255) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('flip' as const), at: pos, bit: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('truncate' as const), keep: pos }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('splice' as const), from: pos, len: fc.nat(4096), to: pos, mode: fc.constantFrom('insert' as const, 'overwrite' as const, 'delete' as const) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('int' as const), at: pos, width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const), value: interesting }) },
  { weight: 5, arbitrary: fc.oneof(
    fc.record({ k: fc.constant('field' as const), which: pos, value: interesting }),
    fc.record({ k: fc.constant('field' as const), which: pos, delta: fc.integer({ min: -16, max: 16 }) }),
  ) },
);

/** JSON values that trip readers: huge, negative, fractional, wrong-typed, escaping paths. */
const hostileJson = fc.oneof(
  fc.constantFrom(-1, 0, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, 1e308, -1e308, '', '../../etc/passwd', '/etc/passwd', null, true, [], {},
    [2 ** 31, 2 ** 31], [-1, 4], [0, 2 ** 53], 'F32', 'BF16', 'C64', 'float16', 'uint8', 'Dense', 'Conv2D', 'MatMul', { dtype: 'uint8', scale: 1e30 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const jsonEdit: fc.Arbitrary<JsonEdit> = fc.record({ node: pos, op: fc.constantFrom('replace' as const, 'replace' as const, 'delete' as const, 'duplicate' as const), value: hostileJson });

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ file: fc.nat(7), bytes: fc.array(byteEdit, { minLength: 1, maxLength: 4 }), json: fc.constant<JsonEdit[]>([]) }) },
  { weight: 1, arbitrary: fc.record({ file: fc.nat(7), bytes: fc.constant<ByteEdit[]>([]), json: fc.array(jsonEdit, { minLength: 1, maxLength: 3 }) }) },
);

/** The mutated bytes of one seed file. JSON edits leave a file without a JSON part as it is. */
export function applyMutation(file: SeedFile, m: Mutation): Uint8Array {
  let bytes = file.bytes;
  const codec = file.json && JSON_CODECS[file.json];
  if (m.json.length && codec) bytes = codec.put(bytes, editJson(codec.get(bytes), m.json));
  for (const e of m.bytes) bytes = applyByteEdit(bytes, e, file.fields);
  return bytes;
}

function applyByteEdit(b: Uint8Array, e: ByteEdit, fields: Field[]): Uint8Array {
  if (b.length === 0) return b;
  const at = (p: number): number => p % b.length;
  const out = Uint8Array.from(b);
  switch (e.k) {
    case 'set': out[at(e.at)] = e.v; return out;
    case 'flip': out[at(e.at)] ^= 1 << e.bit; return out;
    case 'truncate': return out.subarray(0, e.keep % b.length);
    case 'splice': {
      const from = at(e.from), chunk = b.slice(from, from + e.len), to = at(e.to);
      if (e.mode === 'delete') return concat(b.subarray(0, from), b.subarray(from + e.len));
      if (e.mode === 'insert') return concat(b.subarray(0, to), chunk, b.subarray(to));
      out.set(chunk.subarray(0, b.length - to), to);
      return out;
    }
    case 'int': writeInt(out, at(e.at), e.width, BigInt(e.value)); return out;
    case 'field': {
      if (fields.length === 0) return out;
      const f = fields[e.which % fields.length];
      if (f.offset + f.width > b.length) return out;
      const old = readInt(b, f);
      const value = e.value !== undefined ? BigInt(e.value) : old + BigInt(e.delta!);
      if (f.kind === 'varint') return concat(b.subarray(0, f.offset), varint(value < 0n ? 0n : value), b.subarray(f.offset + f.width));
      writeInt(out, f.offset, f.width as 1 | 2 | 4 | 8, value);
      return out;
    }
  }
}

function writeInt(out: Uint8Array, at: number, width: number, value: bigint): void {
  let v = BigInt.asUintN(64, value);
  for (let i = 0; i < width && at + i < out.length; i++) { out[at + i] = Number(v & 0xffn); v >>= 8n; }
}

function readInt(b: Uint8Array, f: Field): bigint {
  let v = 0n;
  if (f.kind === 'varint') {
    for (let i = 0; i < f.width; i++) v |= BigInt(b[f.offset + i] & 0x7f) << BigInt(7 * i);
  } else {
    for (let i = f.width - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[f.offset + i]);
  }
  return v;
}

export function varint(v: bigint): Uint8Array {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  do { let byte = Number(x & 0x7fn); x >>= 7n; if (x) byte |= 0x80; out.push(byte); } while (x);
  return Uint8Array.from(out);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Applies edits to JSON nodes numbered in depth-first order (node 0 is the root's first child). */
function editJson(root: unknown, edits: JsonEdit[]): unknown {
  for (const e of edits) {
    const slots: [Record<string, unknown> | unknown[], string | number][] = [];
    const walk = (v: unknown): void => {
      if (!v || typeof v !== 'object') return;
      for (const key of Array.isArray(v) ? v.keys() : Object.keys(v)) {
        slots.push([v as Record<string, unknown>, key]);
        walk((v as Record<string, unknown>)[key as string]);
      }
    };
    walk(root);
    if (slots.length === 0) continue;
    const [parent, key] = slots[e.node % slots.length];
    const p = parent as Record<string | number, unknown>;
    // A copy: fast-check hands out the same constant objects, and two edits must not alias them.
    if (e.op === 'replace') p[key] = structuredClone(e.value);
    else if (e.op === 'duplicate' && Array.isArray(parent)) parent.push(structuredClone(parent[key as number]));
    else if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete p[key];
  }
  return root;
}
