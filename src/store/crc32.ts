// CRC-32 (IEEE, the zlib/PNG polynomial) for write-ahead log framing. Node >= 20.15 ships a native
// zlib.crc32; the table-driven fallback keeps Node 20.0–20.14 working (slower, same results).
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, initial?: number) => number;

let table: Uint32Array | undefined;

function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** Pure-JS CRC-32; `initial` continues a previous checksum, as zlib.crc32 does. */
export function crc32Js(data: Uint8Array, initial = 0): number {
  const t = (table ??= makeTable());
  let c = ~initial;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// Looked up dynamically: the typings declare zlib.crc32 unconditionally, older runtimes lack it.
const native = (zlib as { crc32?: Crc32 }).crc32;

export const crc32: Crc32 = typeof native === 'function' ? native : crc32Js;

/** CRC of a large buffer in slices, yielding between them so the event loop keeps serving. */
export async function crc32Large(data: Uint8Array, sliceBytes = 4 << 20): Promise<number> {
  let c = 0;
  for (let i = 0; i < data.length; i += sliceBytes) {
    if (i > 0) await yieldToLoop();
    c = crc32(data.subarray(i, i + sliceBytes), c);
  }
  return c;
}
