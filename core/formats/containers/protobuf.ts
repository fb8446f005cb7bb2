// Protobuf wire format at the level of fields: where each field of a message sits, so the
// ONNX writer can copy untouched fields byte for byte (unknown ones included) and the reader
// can find tensor bytes without trusting any length it has not checked.
import type { ByteSource } from '../../io/byteSource.js';

export interface FieldRange {
  field: number;
  wire: number;
  /** First byte of the tag. */
  start: number;
  /** First byte of the payload (after the length prefix for length-delimited fields). */
  dataStart: number;
  end: number;
}

export class WireError extends Error {}

export function varint(buf: Uint8Array, pos: number, end: number): [value: number, next: number] {
  let value = 0;
  for (let shift = 0, i = pos; i < end && shift < 70; shift += 7, i++) {
    const b = buf[i];
    // Only the low 53 bits matter: lengths and tags above that are refused by the callers.
    if (shift < 53) value += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [value, i + 1];
  }
  throw new WireError(`truncated varint at byte ${pos}`);
}

/** The fields of the message in buf[start, end), in stored order; every length is checked. */
export function messageFields(buf: Uint8Array, start: number, end: number): FieldRange[] {
  const out: FieldRange[] = [];
  for (let pos = start; pos < end; pos = out[out.length - 1].end) out.push(fieldAt(buf, pos, end));
  return out;
}

/**
 * The field whose tag is at buf[pos], in a message that ends at `end` (its length is checked
 * against that); buf needs to hold only the field's tag and length, not its payload. `base`:
 * where buf starts in the file, for the messages.
 */
function fieldAt(buf: Uint8Array, pos: number, end: number, base = 0): FieldRange {
  const limit = Math.min(end, buf.length);
  const [tag, afterTag] = varint(buf, pos, limit);
  const field = Math.floor(tag / 8), wire = tag % 8;
  if (field === 0) throw new WireError(`field number 0 at byte ${base + pos}`);
  let dataStart = afterTag, next: number;
  switch (wire) {
    case 0: next = varint(buf, afterTag, limit)[1]; break;
    case 1: next = afterTag + 8; break;
    case 5: next = afterTag + 4; break;
    case 2: {
      const [len, afterLen] = varint(buf, afterTag, limit);
      dataStart = afterLen;
      next = afterLen + len;
      break;
    }
    default: throw new WireError(`unsupported wire type ${wire} at byte ${base + pos}`);
  }
  if (next > end) throw new WireError(`field ${field} at byte ${base + pos} runs ${next - end} bytes past the end of its message`);
  return { field, wire, start: pos, dataStart, end: next };
}

/** Bytes a field's tag and length take at most (two 10-byte varints). */
const HEADER_BYTES = 20;
/** Bytes read at a time: many small fields per read. */
export const WINDOW = 1 << 20;

/**
 * The fields of the message at bytes [start, end) of `src`, in stored order, each with its
 * bytes (tag and length included: bytes[0] is at range.start) unless `skip` says to leave it
 * on disk. Read through a window: the message is never in memory whole, only the window or
 * the one field that is larger.
 */
export async function* sourceFields(src: Pick<ByteSource, 'read'>, start: number, end: number,
  skip: (f: FieldRange) => boolean = () => false): AsyncGenerator<{ range: FieldRange; bytes?: Uint8Array }> {
  let buf: Uint8Array = new Uint8Array(0), base = start;
  const hold = async (from: number, to: number): Promise<void> => {
    if (from >= base && to <= base + buf.length) return;
    base = from;
    buf = await src.read(from, Math.min(Math.max(to - from, WINDOW), end - from));
  };
  for (let pos = start; pos < end;) {
    await hold(pos, Math.min(pos + HEADER_BYTES, end));
    const f = fieldAt(buf, pos - base, end - base, base);
    const range = { field: f.field, wire: f.wire, start: pos, dataStart: f.dataStart + base, end: f.end + base };
    if (skip(range)) {
      yield { range };
    } else {
      await hold(range.start, range.end);
      yield { range, bytes: buf.subarray(range.start - base, range.end - base) };
    }
    pos = range.end;
  }
}

export function encodeVarint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80); }
  out.push(n);
  return Uint8Array.from(out);
}

/** Tag and length prefix of a length-delimited field. */
export function lengthPrefix(field: number, length: number): Uint8Array {
  const tag = encodeVarint(field * 8 + 2), len = encodeVarint(length);
  const out = new Uint8Array(tag.length + len.length);
  out.set(tag); out.set(len, tag.length);
  return out;
}

/** The pieces of a message, joined. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
