// Random access into the zip archives torch.save writes, reading only the central directory
// up front. torch stores entries uncompressed, so a tensor's bytes are addressed in place;
// deflated entries (zips re-packed by other tools) are inflated on demand under a cap.
// Every size and offset is checked against the file before it is trusted: a hostile archive
// (sizes past the end, overlapping entries, names escaping the folder) is refused.
import { Inflate } from 'fflate';
import type { ByteSource } from '../../io/byteSource.js';
import { InputError } from '../../types.js';

export interface ZipEntry {
  name: string;
  method: 0 | 8;
  compressedSize: number;
  size: number;
  /** Offset of the entry's data (past its local header). */
  dataOffset: number;
}

const EOCD = 0x06054b50, EOCD64 = 0x06064b50, LOCATOR64 = 0x07064b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;
const MAX_CENTRAL_DIRECTORY = 64 * 1024 * 1024;
/** Deflate cannot expand more than ~1032:1; a larger declared ratio is a zip bomb. */
const MAX_DEFLATE_RATIO = 1032;

export const isZip = async (src: ByteSource): Promise<boolean> =>
  src.size >= 4 && view(await src.read(0, 4)).getUint32(0, true) === LOCAL;

export class ZipArchive {
  private constructor(readonly file: string, private readonly src: ByteSource, readonly entries: Map<string, ZipEntry>) {}

  static async open(src: ByteSource, file: string): Promise<ZipArchive> {
    const fail = (msg: string): never => { throw new InputError(file, `zip: ${msg}`); };
    const tailLen = Math.min(src.size, 22 + 0xffff);
    const tail = await src.read(src.size - tailLen, tailLen);
    const tv = view(tail);
    let at = tailLen - 22;
    while (at >= 0 && tv.getUint32(at, true) !== EOCD) at--;
    if (at < 0) fail('no end-of-central-directory record (truncated or not a zip)');
    if (tv.getUint16(at + 4, true) !== 0 || tv.getUint16(at + 6, true) !== 0) fail('multi-disk archives are not supported');
    let count = tv.getUint16(at + 10, true);
    let cdSize = tv.getUint32(at + 12, true);
    let cdOffset = tv.getUint32(at + 16, true);
    const eocdOffset = src.size - tailLen + at;
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      if (eocdOffset < 20) fail('ZIP64 locator missing');
      const loc = view(await src.read(eocdOffset - 20, 20));
      if (loc.getUint32(0, true) !== LOCATOR64) fail('ZIP64 locator missing');
      const rec = u64(loc, 8, fail);
      if (rec + 56 > eocdOffset - 20) fail('ZIP64 record outside the file');
      const r = view(await src.read(rec, 56));
      if (r.getUint32(0, true) !== EOCD64) fail('bad ZIP64 end record');
      count = u64(r, 32, fail); cdSize = u64(r, 40, fail); cdOffset = u64(r, 48, fail);
    }
    if (cdSize > MAX_CENTRAL_DIRECTORY) fail(`central directory of ${cdSize} bytes exceeds the 64 MB limit`);
    if (cdOffset + cdSize > eocdOffset) fail('central directory runs past its end record');
    if (count * 46 > cdSize) fail(`${count} entries cannot fit a ${cdSize}-byte central directory`);
    const cd = await src.read(cdOffset, cdSize);
    const cv = view(cd);
    const names = new TextDecoder();
    const entries = new Map<string, ZipEntry>();
    const spans: [number, number, string][] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cdSize || cv.getUint32(p, true) !== CENTRAL) fail(`central directory entry ${i} is corrupt`);
      const flags = cv.getUint16(p + 8, true), method = cv.getUint16(p + 10, true);
      let compressedSize = cv.getUint32(p + 20, true), size = cv.getUint32(p + 24, true);
      const nameLen = cv.getUint16(p + 28, true), extraLen = cv.getUint16(p + 30, true), commentLen = cv.getUint16(p + 32, true);
      let local = cv.getUint32(p + 42, true);
      if (p + 46 + nameLen + extraLen + commentLen > cdSize) fail(`central directory entry ${i} runs past the directory`);
      const name = names.decode(cd.subarray(p + 46, p + 46 + nameLen));
      const shown = quoted(name);
      const z64 = zip64Extra(cv, p + 46 + nameLen, extraLen);
      if (size === 0xffffffff) size = z64.next(fail, shown);
      if (compressedSize === 0xffffffff) compressedSize = z64.next(fail, shown);
      if (local === 0xffffffff) local = z64.next(fail, shown);
      p += 46 + nameLen + extraLen + commentLen;
      checkName(name, fail);
      if (flags & 1) fail(`entry ${shown} is encrypted`);
      if (method !== 0 && method !== 8) fail(`entry ${shown} uses unsupported compression method ${method}`);
      if (method === 0 && compressedSize !== size) fail(`stored entry ${shown} declares ${size} bytes but holds ${compressedSize}`);
      if (method === 8 && size > compressedSize * MAX_DEFLATE_RATIO + 1024) fail(`entry ${shown} declares ${size} bytes from ${compressedSize} compressed (zip bomb?)`);
      if (entries.has(name)) fail(`duplicate entry ${shown}`);
      if (local + 30 > cdOffset) fail(`entry ${shown} starts past the archive data`);
      const lv = view(await src.read(local, 30));
      if (lv.getUint32(0, true) !== LOCAL) fail(`entry ${shown} has no local header`);
      const dataOffset = local + 30 + lv.getUint16(26, true) + lv.getUint16(28, true);
      if (dataOffset + compressedSize > cdOffset) fail(`entry ${shown} declares ${compressedSize} bytes, past the end of the archive data`);
      entries.set(name, { name, method: method as 0 | 8, compressedSize, size, dataOffset });
      spans.push([local, dataOffset + compressedSize, shown]);
    }
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) {
      if (spans[i][0] < spans[i - 1][1]) fail(`entries ${spans[i - 1][2]} and ${spans[i][2]} overlap`);
    }
    return new ZipArchive(file, src, entries);
  }

  /** Reads an entry whole (inflating it), refusing entries larger than `cap` bytes. */
  async read(entry: ZipEntry, cap: number): Promise<Uint8Array> {
    if (entry.size > cap) throw new InputError(this.file, `zip entry ${quoted(entry.name)} is ${entry.size} bytes, over the ${cap}-byte limit`);
    return entry.method === 0 ? this.src.read(entry.dataOffset, entry.compressedSize) : this.inflated(entry).read(0, entry.size);
  }

  /**
   * A deflated entry read at offsets, inflated as far as each read needs and never whole:
   * memory stays at one read plus one step's output, whatever the stream would expand to.
   */
  inflated(entry: ZipEntry): EntryStream {
    if (entry.method !== 8) throw new Error(`zip entry ${entry.name} is not deflated`);
    return new EntryStream(this.file, this.src, entry);
  }

  /** An entry's bytes in order, `chunkBytes` at a time, inflated as they are read: never whole in memory. */
  async *chunks(entry: ZipEntry, chunkBytes: number): AsyncGenerator<Uint8Array> {
    const stream = entry.method === 8 ? this.inflated(entry) : undefined;
    for (let at = 0; at < entry.size; at += chunkBytes) {
      const n = Math.min(chunkBytes, entry.size - at);
      yield stream ? await stream.read(at, n) : await this.src.read(entry.dataOffset + at, n);
    }
  }
}

/**
 * Compressed bytes pushed per step: deflate expands at most ~1032:1, so one step yields at most
 * ~4 MB, and a stream running past its declared size is stopped within that step.
 */
const INFLATE_STEP = 4 * 1024;

/**
 * Reads a deflated entry's bytes at offsets by inflating its stream step by step against the
 * entry's declared size. Sequential reads (a tensor read in chunks, in order) continue the
 * stream; a read behind the position starts it again. Stops at the first byte past the declared
 * size, refusing the entry in one line naming the file and the entry.
 */
export class EntryStream {
  private inflater!: Inflate;
  /** Compressed bytes pushed so far. */
  private pushed = 0;
  /** Bytes the stream has produced so far. */
  private produced = 0;
  /** Produced bytes not yet passed by a read, and where in the entry they start. */
  private held: Uint8Array[] = [];
  private heldStart = 0;
  private done = false;
  /** The refusal that stopped the stream: later reads give it again rather than go on from a broken state. */
  private failed?: InputError;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly file: string, private readonly src: ByteSource, readonly entry: ZipEntry) { this.restart(); }

  get size(): number { return this.entry.size; }

  private restart(): void {
    this.inflater = new Inflate((chunk) => {
      if (this.produced + chunk.length > this.entry.size) this.fail(`inflates past its declared ${this.entry.size} bytes`);
      this.produced += chunk.length;
      if (chunk.length) this.held.push(chunk);
    });
    this.pushed = 0;
    this.produced = 0;
    this.held = [];
    this.heldStart = 0;
    this.done = false;
  }

  private fail(what: string): never {
    throw this.failed = new InputError(this.file, `zip entry ${quoted(this.entry.name)} ${what}`);
  }

  /** One step: the next compressed bytes through the inflater. */
  private async step(): Promise<void> {
    const n = Math.min(INFLATE_STEP, this.entry.compressedSize - this.pushed);
    const bytes = await this.src.read(this.entry.dataOffset + this.pushed, n);
    this.pushed += n;
    const last = this.pushed === this.entry.compressedSize;
    try {
      this.inflater.push(bytes, last);
    } catch (e) {
      if (e === this.failed) throw e;
      this.fail(`is corrupt (${(e as Error).message})`);
    }
    if (last) {
      this.done = true;
      if (this.produced !== this.entry.size) this.fail(`inflates to ${this.produced} bytes, not the declared ${this.entry.size}`);
    }
  }

  /** Reads run one at a time (tensors sharing a storage may be read from several lanes). */
  read(offset: number, length: number): Promise<Uint8Array> {
    const r = this.queue.then(() => this.readNow(offset, length));
    this.queue = r.catch(() => undefined);
    return r;
  }

  private async readNow(offset: number, length: number): Promise<Uint8Array> {
    if (this.failed) throw this.failed;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.entry.size) {
      this.fail(`read of ${length} bytes at ${offset} is outside its ${this.entry.size} bytes`);
    }
    if (offset < this.heldStart) this.restart();
    const out = new Uint8Array(length);
    const end = offset + length;
    for (;;) {
      // Pass over what is held: copy the part inside [offset, end), drop what lies before `end`.
      while (this.held.length) {
        const chunk = this.held[0];
        const from = this.heldStart, to = from + chunk.length;
        if (to > offset && from < end) out.set(chunk.subarray(Math.max(0, offset - from), Math.min(chunk.length, end - from)), Math.max(0, from - offset));
        if (to > end) {
          // Keep the rest for the next read, which usually starts right here.
          const keep = Math.max(0, end - from);
          this.held[0] = chunk.subarray(keep);
          this.heldStart = from + keep;
          return out;
        }
        this.held.shift();
        this.heldStart = to;
      }
      if (this.heldStart >= end) return out;
      if (this.done) this.fail(`inflates to ${this.produced} bytes, not the declared ${this.entry.size}`);
      await this.step();
    }
  }
}

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

function u64(dv: DataView, at: number, fail: (m: string) => never): number {
  const v = dv.getBigUint64(at, true);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? fail(`ZIP64 value ${v} is out of range`) : Number(v);
}

/** The ZIP64 extended-information extra field: the 64-bit values, in order, that were 0xFFFFFFFF. */
function zip64Extra(dv: DataView, start: number, len: number) {
  let at = -1, end = -1;
  for (let p = start; p + 4 <= start + len;) {
    const id = dv.getUint16(p, true), size = dv.getUint16(p + 2, true);
    if (id === 1) { at = p + 4; end = Math.min(at + size, start + len); break; }
    p += 4 + size;
  }
  return {
    next(fail: (m: string) => never, name: string): number {
      if (at < 0 || at + 8 > end) fail(`entry ${name} lacks its ZIP64 sizes`);
      const v = u64(dv, at, fail);
      at += 8;
      return v;
    },
  };
}

function checkName(name: string, fail: (m: string) => never): void {
  if (name.includes('\0') || name.includes('\\') || name.startsWith('/') || /^[a-zA-Z]:/.test(name) || name.split('/').includes('..')) {
    fail(`entry name ${quoted(name)} escapes the archive`);
  }
}

/** An entry name as a short JSON string: a hostile name can hold newlines and control bytes. */
export function quoted(name: string): string {
  return JSON.stringify(name.length > 120 ? `${name.slice(0, 120)}…` : name);
}
