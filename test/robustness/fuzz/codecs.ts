// The JSON part of a seed file (safetensors header, TF.js model.json, .keras config.json):
// how to take it out and put an edited one back, keeping the container valid.
import { unzipSync, zipSync } from 'fflate';

export type JsonCodecName = 'safetensors-header' | 'whole-file' | 'keras-config';

export const utf8 = new TextEncoder();
const parse = (b: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(b));

export const JSON_CODECS: Record<JsonCodecName, { get(b: Uint8Array): unknown; put(b: Uint8Array, v: unknown): Uint8Array }> = {
  'safetensors-header': {
    get: (b) => parse(b.subarray(8, 8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true)))),
    put: (b, v) => {
      const old = 8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
      return safetensorsFile(utf8.encode(JSON.stringify(v)), b.subarray(old));
    },
  },
  'whole-file': { get: parse, put: (_b, v) => utf8.encode(JSON.stringify(v)) },
  'keras-config': {
    get: (b) => parse(unzipSync(b)['config.json']),
    put: (b, v) => zipSync({ ...unzipSync(b), 'config.json': utf8.encode(JSON.stringify(v)) }, { level: 0 }),
  },
};

export function safetensorsFile(header: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

