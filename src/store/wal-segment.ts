// On-disk formats of WAL segments and snapshots, and the parser that tells a torn tail from
// corruption. All integers are little-endian.
//
// segment wal-<seq>.log, version 2: header | batch*
//   header (28): "CWAL" | version u32 = 2 | seq u64 | salt (8 random bytes) | crc32(previous 24 bytes) u32
//   batch  (16): magic C7 57 42 01 | record count u32 | body bytes u32
//                | crc32(salt | offset of the batch in the file u64 | previous 12 bytes) u32
//   record  (8): crc32(length field + payload) u32 | length u32 | payload
// Version 1 (still read) had a 20-byte header without the salt, and batch checksums over the 12
// header bytes alone.
// snapshot snap-<seq>.snap: "CSNP" | version u32 = 1 | seq u64 | payload bytes u64 | crc32(payload) u32
//   | crc32(previous 28 bytes) u32 | payload. It covers every record in segments before <seq>.
//
// A batch is what one write() + fdatasync() carried. Only one is in flight at a time, so only the
// last batch of the last segment can be torn by a crash, and any valid batch after a bad one proves
// the bad one had been fsynced: that is corruption, never a torn tail. A version-2 batch header
// only checks out at the offset it was written at, in the segment it was written to (whose salt no
// client ever sees), so bytes a client stored in a value cannot pass for a batch.
import { randomBytes } from 'node:crypto';
import { crc32 } from './crc32.ts';

/** Header size of the segments written now (version 2). */
export const SEGMENT_HEADER_BYTES = 28;
const V1_SEGMENT_HEADER_BYTES = 20;
export const BATCH_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 8;
export const SNAPSHOT_HEADER_BYTES = 32;
export const segmentName = (seq: number) => `wal-${String(seq).padStart(16, '0')}.log`;
export const snapshotName = (seq: number) => `snap-${String(seq).padStart(16, '0')}.snap`;
const SEGMENT_VERSION = 2;
const SNAPSHOT_VERSION = 1;
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

/** What batches of one segment are checked against: its format version and (version 2) salt. */
export interface SegmentFormat {
  version: 1 | 2;
  headerBytes: number;
  /** 8 random bytes, mixed into every batch header's checksum (empty in version 1). */
  salt: Buffer;
}

/** The format of a new segment: version 2 with a fresh salt. */
export function newSegmentFormat(): SegmentFormat {
  return { version: 2, headerBytes: SEGMENT_HEADER_BYTES, salt: randomBytes(8) };
}

export function segmentHeader(seq: number, format: SegmentFormat): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  b.writeUInt32LE(SEGMENT_MAGIC, 0);
  b.writeUInt32LE(SEGMENT_VERSION, 4);
  b.writeBigUInt64LE(BigInt(seq), 8);
  format.salt.copy(b, 16);
  b.writeUInt32LE(crc32(b.subarray(0, 24)), 24);
  return b;
}

/** Checksum of the 12 batch-header bytes at `at`, bound (version 2) to the segment and the offset. */
function batchHeaderCrc(buf: Buffer, at: number, format: SegmentFormat, offset: number): number {
  if (format.version === 1) return crc32(buf.subarray(at, at + 12));
  const key = Buffer.allocUnsafe(16);
  format.salt.copy(key, 0);
  key.writeBigUInt64LE(BigInt(offset), 8);
  return crc32(buf.subarray(at, at + 12), crc32(key));
}

/**
 * Frames `records` (whose framed size is `bodyBytes`) into `out` as one batch that will sit at
 * `offset` of a segment of `format`; returns the bytes used.
 */
export function encodeBatch(records: readonly Buffer[], bodyBytes: number, out: Buffer, format: SegmentFormat, offset: number): number {
  let p = BATCH_HEADER_BYTES;
  for (const r of records) {
    out.writeUInt32LE(r.length, p + 4);
    r.copy(out, p + 8);
    out.writeUInt32LE(crc32(out.subarray(p + 4, p + 8 + r.length)), p);
    p += RECORD_HEADER_BYTES + r.length;
  }
  BATCH_MAGIC_BYTES.copy(out, 0);
  out.writeUInt32LE(records.length, 4);
  out.writeUInt32LE(bodyBytes, 8);
  out.writeUInt32LE(batchHeaderCrc(out, 0, format, offset), 12);
  return p;
}

/** Where a torn tail starts and why; everything from `truncateTo` on is dropped. */
export interface TailRepair {
  offset: number;
  reason: string;
  truncateTo: number;
}

export interface ParsedSegment {
  /** Views into the segment's buffer. */
  records: Buffer[];
  /** Records per batch, in order (a torn batch counts its intact records), to rewrite the segment batch for batch. */
  batches: number[];
  format: SegmentFormat;
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
function readBatch(buf: Buffer, pos: number, format: SegmentFormat, out: Buffer[] | null): number | BatchFault {
  const fault = (at: number, reason: string, prefixEnd = pos, prefixCount = 0, scanFrom = pos + 1) =>
    ({ at, reason, prefixEnd, prefixCount, scanFrom }) satisfies BatchFault;
  if (buf.length - pos < BATCH_HEADER_BYTES) return fault(pos, 'incomplete batch header');
  if (buf.readUInt32LE(pos) !== BATCH_MAGIC) return fault(pos, 'bad batch marker');
  if (buf.readUInt32LE(pos + 12) !== batchHeaderCrc(buf, pos, format, pos)) {
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

function validBatchAfter(buf: Buffer, from: number, format: SegmentFormat): boolean {
  for (let i = buf.indexOf(BATCH_MAGIC_BYTES, from); i !== -1; i = buf.indexOf(BATCH_MAGIC_BYTES, i + 1)) {
    if (typeof readBatch(buf, i, format, null) === 'number') return true;
  }
  return false;
}

function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** The segment's header, or why it is bad. */
function readSegmentHeader(buf: Buffer, seq: number): SegmentFormat | { bad: string; at: number } {
  if (buf.length < 8 || buf.readUInt32LE(0) !== SEGMENT_MAGIC) return { bad: 'bad segment header', at: 0 };
  const version = buf.readUInt32LE(4);
  const headerBytes = version === 1 ? V1_SEGMENT_HEADER_BYTES : SEGMENT_HEADER_BYTES;
  if (buf.length < headerBytes || buf.readUInt32LE(headerBytes - 4) !== crc32(buf.subarray(0, headerBytes - 4))) {
    return { bad: 'bad segment header', at: 0 };
  }
  if (version !== 1 && version !== SEGMENT_VERSION) return { bad: `unsupported format version ${version}`, at: 4 };
  if (buf.readBigUInt64LE(8) !== BigInt(seq)) return { bad: `header names segment ${buf.readBigUInt64LE(8)}`, at: 8 };
  return version === 1 ? { version, headerBytes, salt: Buffer.alloc(0) } : { version, headerBytes, salt: Buffer.from(buf.subarray(16, 24)) };
}

/** Parses one segment; throws WalCorruptionError unless the only damage is a torn tail of the last. */
export function parseSegment(buf: Buffer, file: string, seq: number, isLast: boolean): ParsedSegment {
  const format = readSegmentHeader(buf, seq);
  if ('bad' in format) {
    // A crash while creating the segment, before any batch could be written to it.
    if (isLast && format.at === 0 && buf.length <= SEGMENT_HEADER_BYTES) {
      return { records: [], batches: [], format: newSegmentFormat(), repair: { offset: 0, reason: 'incomplete segment header', truncateTo: 0 } };
    }
    throw new WalCorruptionError(file, format.at, format.bad);
  }
  const records: Buffer[] = [];
  const batches: number[] = [];
  let pos = format.headerBytes;
  while (pos < buf.length) {
    const before = records.length;
    const r = readBatch(buf, pos, format, records);
    if (typeof r === 'number') {
      batches.push(records.length - before);
      pos = r;
      continue;
    }
    if (!isLast || validBatchAfter(buf, r.scanFrom, format)) throw new WalCorruptionError(file, r.at, r.reason);
    const reason = allZero(buf, r.at) ? 'zero-filled tail' : r.reason;
    // The intact records of the torn batch are kept (they are in `records` already).
    if (r.prefixCount > 0) batches.push(r.prefixCount);
    return { records, batches, format, repair: { offset: r.at, reason, truncateTo: r.prefixCount > 0 ? r.prefixEnd : pos } };
  }
  return { records, batches, format };
}

export function snapshotHeader(seq: number, payloadBytes: number, payloadCrc: number): Buffer {
  const b = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
  b.writeUInt32LE(SNAPSHOT_MAGIC, 0);
  b.writeUInt32LE(SNAPSHOT_VERSION, 4);
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
  if (buf.readUInt32LE(4) !== SNAPSHOT_VERSION) {
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
