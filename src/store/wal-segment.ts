// On-disk formats of WAL segments and snapshots, and the parser that tells a torn tail from
// corruption. All integers are little-endian.
//
// segment wal-<seq>.log: header | batch*
//   header (20): "CWAL" | version u32 | seq u64 | crc32(previous 16 bytes) u32
//   batch  (16): magic C7 57 42 01 | record count u32 | body bytes u32 | crc32(previous 12 bytes) u32
//   record  (8): crc32(length field + payload) u32 | length u32 | payload
// snapshot snap-<seq>.snap: "CSNP" | version u32 | seq u64 | payload bytes u64 | crc32(payload) u32
//   | crc32(previous 28 bytes) u32 | payload. It covers every record in segments before <seq>.
//
// A batch is what one write() + fdatasync() carried. Only one is in flight at a time, so only the
// last batch of the last segment can be torn by a crash, and any valid batch after a bad one proves
// the bad one had been fsynced: that is corruption, never a torn tail.
import type { StoreFile, StoreFs } from './store-fs.ts';
import { join } from 'node:path';
import { crc32 } from './crc32.ts';

export const SEGMENT_HEADER_BYTES = 20;
export const BATCH_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 8;
export const SNAPSHOT_HEADER_BYTES = 32;
export const segmentName = (seq: number) => `wal-${String(seq).padStart(16, '0')}.log`;
export const snapshotName = (seq: number) => `snap-${String(seq).padStart(16, '0')}.snap`;
const VERSION = 1;
const SEGMENT_MAGIC = 0x4c415743; // "CWAL"
const SNAPSHOT_MAGIC = 0x504e5343; // "CSNP"
// Not ASCII, so text payloads rarely contain it; a hit is only a candidate until its CRCs check.
const BATCH_MAGIC_BYTES = Buffer.from([0xc7, 0x57, 0x42, 0x01]);
const BATCH_MAGIC = BATCH_MAGIC_BYTES.readUInt32LE(0);

export class WalCorruptionError extends Error {
  /** Brand checked by {@link isWalCorruptionError}; survives duplicate copies of this package. */
  readonly isWalCorruptionError = true;
  override readonly name = 'WalCorruptionError';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(
      `coord store: data file ${file} is corrupt at offset ${offset} (${reason}); ` +
        'refusing to start so no acknowledged write is lost silently',
    );
  }
}

export function isWalCorruptionError(err: unknown): err is WalCorruptionError {
  return (err as { isWalCorruptionError?: unknown } | null)?.isWalCorruptionError === true;
}

export function segmentHeader(seq: number): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  b.writeUInt32LE(SEGMENT_MAGIC, 0);
  b.writeUInt32LE(VERSION, 4);
  b.writeBigUInt64LE(BigInt(seq), 8);
  b.writeUInt32LE(crc32(b.subarray(0, 16)), 16);
  return b;
}

function writeBatchHeader(out: Buffer, at: number, count: number, bodyBytes: number): void {
  BATCH_MAGIC_BYTES.copy(out, at);
  out.writeUInt32LE(count, at + 4);
  out.writeUInt32LE(bodyBytes, at + 8);
  out.writeUInt32LE(crc32(out.subarray(at, at + 12)), at + 12);
}

/** Frames `records` (whose framed size is `bodyBytes`) into `out`; returns the bytes used. */
export function encodeBatch(records: readonly Buffer[], bodyBytes: number, out: Buffer): number {
  let p = BATCH_HEADER_BYTES;
  for (const r of records) {
    out.writeUInt32LE(r.length, p + 4);
    r.copy(out, p + 8);
    out.writeUInt32LE(crc32(out.subarray(p + 4, p + 8 + r.length)), p);
    p += RECORD_HEADER_BYTES + r.length;
  }
  writeBatchHeader(out, 0, records.length, bodyBytes);
  return p;
}

/** How to cut a torn tail: truncate to `truncateTo`, then write `patch` (if any) at its offset. */
export interface TailRepair {
  offset: number;
  reason: string;
  truncateTo: number;
  patch?: { at: number; bytes: Buffer };
}

export interface ParsedSegment {
  /** Views into the segment's buffer. */
  records: Buffer[];
  repair?: TailRepair;
}

interface BatchFault {
  at: number;
  reason: string;
  /** End of the records of this batch that did check out, and how many there were. */
  prefixEnd: number;
  prefixCount: number;
  /** Where a later batch could begin. */
  scanFrom: number;
}

/** Validates the batch at `pos`, pushing its good records to `out`; returns its end or a fault. */
function readBatch(buf: Buffer, pos: number, out: Buffer[] | null): number | BatchFault {
  const fault = (at: number, reason: string, prefixEnd = pos, prefixCount = 0, scanFrom = pos + 1) =>
    ({ at, reason, prefixEnd, prefixCount, scanFrom }) satisfies BatchFault;
  if (buf.length - pos < BATCH_HEADER_BYTES) return fault(pos, 'incomplete batch header');
  if (buf.readUInt32LE(pos) !== BATCH_MAGIC) return fault(pos, 'bad batch marker');
  if (buf.readUInt32LE(pos + 12) !== crc32(buf.subarray(pos, pos + 12))) {
    return fault(pos, 'batch header checksum mismatch');
  }
  const count = buf.readUInt32LE(pos + 4);
  const end = pos + BATCH_HEADER_BYTES + buf.readUInt32LE(pos + 8);
  const limit = Math.min(end, buf.length);
  let p = pos + BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const overrun = (next: number) => (next > buf.length ? 'incomplete record' : 'record overruns its batch');
    if (p + RECORD_HEADER_BYTES > limit) return fault(p, overrun(p + RECORD_HEADER_BYTES), p, i, end);
    const next = p + RECORD_HEADER_BYTES + buf.readUInt32LE(p + 4);
    if (next > limit) return fault(p, overrun(next), p, i, end);
    if (buf.readUInt32LE(p) !== crc32(buf.subarray(p + 4, next))) {
      return fault(p, 'checksum mismatch', p, i, end);
    }
    out?.push(buf.subarray(p + RECORD_HEADER_BYTES, next));
    p = next;
  }
  return p === end ? end : fault(p, 'batch length mismatch', p, count, end);
}

function validBatchAfter(buf: Buffer, from: number): boolean {
  for (let i = buf.indexOf(BATCH_MAGIC_BYTES, from); i !== -1; i = buf.indexOf(BATCH_MAGIC_BYTES, i + 1)) {
    if (typeof readBatch(buf, i, null) === 'number') return true;
  }
  return false;
}

function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Parses one segment; throws WalCorruptionError unless the only damage is a torn tail of the last. */
export function parseSegment(buf: Buffer, file: string, seq: number, isLast: boolean): ParsedSegment {
  const headerOk =
    buf.length >= SEGMENT_HEADER_BYTES &&
    buf.readUInt32LE(0) === SEGMENT_MAGIC &&
    buf.readUInt32LE(16) === crc32(buf.subarray(0, 16));
  if (!headerOk) {
    // A crash while creating the segment, before any batch could be written to it.
    if (isLast && buf.length <= SEGMENT_HEADER_BYTES) {
      const patch = { at: 0, bytes: segmentHeader(seq) };
      return { records: [], repair: { offset: 0, reason: 'incomplete segment header', truncateTo: 0, patch } };
    }
    throw new WalCorruptionError(file, 0, 'bad segment header');
  }
  if (buf.readUInt32LE(4) !== VERSION) {
    throw new WalCorruptionError(file, 4, `unsupported format version ${buf.readUInt32LE(4)}`);
  }
  if (buf.readBigUInt64LE(8) !== BigInt(seq)) {
    throw new WalCorruptionError(file, 8, `header names segment ${buf.readBigUInt64LE(8)}`);
  }
  const records: Buffer[] = [];
  let pos = SEGMENT_HEADER_BYTES;
  while (pos < buf.length) {
    const r = readBatch(buf, pos, records);
    if (typeof r === 'number') {
      pos = r;
      continue;
    }
    if (!isLast || validBatchAfter(buf, r.scanFrom)) throw new WalCorruptionError(file, r.at, r.reason);
    const reason = allZero(buf, r.at) ? 'zero-filled tail' : r.reason;
    const repair: TailRepair = { offset: r.at, reason, truncateTo: r.prefixCount > 0 ? r.prefixEnd : pos };
    if (r.prefixCount > 0) {
      // Keep the records of the torn batch that are intact: rewrite its header to count only them.
      const bytes = Buffer.alloc(BATCH_HEADER_BYTES);
      writeBatchHeader(bytes, 0, r.prefixCount, r.prefixEnd - pos - BATCH_HEADER_BYTES);
      repair.patch = { at: pos, bytes };
    }
    return { records, repair };
  }
  return { records };
}

export function snapshotHeader(seq: number, payloadBytes: number, payloadCrc: number): Buffer {
  const b = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
  b.writeUInt32LE(SNAPSHOT_MAGIC, 0);
  b.writeUInt32LE(VERSION, 4);
  b.writeBigUInt64LE(BigInt(seq), 8);
  b.writeBigUInt64LE(BigInt(payloadBytes), 16);
  b.writeUInt32LE(payloadCrc, 24);
  b.writeUInt32LE(crc32(b.subarray(0, 28)), 28);
  return b;
}

/** Checks a snapshot file's header; returns its payload and the checksum it must have. */
export function readSnapshotHeader(buf: Buffer, file: string, seq: number): { payload: Buffer; crc: number } {
  if (
    buf.length < SNAPSHOT_HEADER_BYTES ||
    buf.readUInt32LE(0) !== SNAPSHOT_MAGIC ||
    buf.readUInt32LE(28) !== crc32(buf.subarray(0, 28))
  ) {
    throw new WalCorruptionError(file, 0, 'bad snapshot header');
  }
  if (buf.readUInt32LE(4) !== VERSION) {
    throw new WalCorruptionError(file, 4, `unsupported format version ${buf.readUInt32LE(4)}`);
  }
  if (buf.readBigUInt64LE(8) !== BigInt(seq)) {
    throw new WalCorruptionError(file, 8, `header names segment ${buf.readBigUInt64LE(8)}`);
  }
  const end = SNAPSHOT_HEADER_BYTES + Number(buf.readBigUInt64LE(16));
  if (end !== buf.length) {
    throw new WalCorruptionError(file, Math.min(end, buf.length), `snapshot should be ${end} bytes, is ${buf.length}`);
  }
  return { payload: buf.subarray(SNAPSHOT_HEADER_BYTES), crc: buf.readUInt32LE(24) };
}

export async function writeAll(fh: StoreFile, buf: Buffer, position: number, length = buf.length): Promise<void> {
  for (let done = 0; done < length; ) {
    const { bytesWritten } = await fh.write(buf, done, length - done, position + done);
    if (bytesWritten === 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}

export async function syncDir(fs: StoreFs, dir: string, counters: { fsyncs: number }): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
    counters.fsyncs++;
  } finally {
    await fh.close();
  }
}

/** Creates segment `seq` with its header, durably (file and directory entry). */
export async function createSegment(fs: StoreFs, dir: string, seq: number, counters: { fsyncs: number }): Promise<StoreFile> {
  const fh = await fs.open(join(dir, segmentName(seq)), 'wx');
  try {
    await writeAll(fh, segmentHeader(seq), 0);
    await fh.datasync();
    counters.fsyncs++;
    await syncDir(fs, dir, counters);
    return fh;
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Opens the last segment for appending, cutting its torn tail first; returns it and its size. */
export async function openTail(fs: StoreFs, file: string, size: number, repair: TailRepair | undefined, counters: { fsyncs: number }) {
  const fh = await fs.open(file, 'r+');
  if (!repair) return { fh, size };
  try {
    await fh.truncate(repair.truncateTo);
    const patch = repair.patch;
    if (patch) await writeAll(fh, patch.bytes, patch.at);
    await fh.datasync();
    counters.fsyncs++;
    return { fh, size: Math.max(repair.truncateTo, patch ? patch.at + patch.bytes.length : 0) };
  } catch (err) {
    await fh.close();
    throw err;
  }
}
