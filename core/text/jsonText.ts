// Text of a value parsed from a model's JSON, for names, keys and messages. String() of a parsed
// object calls its own "toString" key, and a hostile file can make that key a number: String()
// then throws ("Cannot convert object to primitive value"), a crash where a refusal is due.
// Objects and arrays are written as JSON instead (never through their own keys).
export function jsonText(v: unknown): string {
  return v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Whether `v` is a string naming an own key of `table` (a parsed object as `v` would convert itself first). */
export function isKeyOf<T extends object>(table: T, v: unknown): v is keyof T & string {
  return typeof v === 'string' && Object.hasOwn(table, v);
}

/** A number from parsed JSON: a number, or a string of one; NaN for anything else (Number() of an object calls its own keys). */
export function jsonNumber(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
}
