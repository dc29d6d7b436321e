import type { KeyValue, MvccEvent } from './mvcc.ts';
import { EMPTY } from './mvcc.ts';
import { decodeAuthData, encodeAuthData, type AuthData } from './auth.ts';

/**
 * Binary encodings of what the store logs. A log record describes the EFFECT of one request
 * (the events it produced, a lease granted or revoked, a compaction), so replay needs no
 * re-validation and yields exactly the same revisions. Integers are little-endian.
 */
export type LogRecord =
  | { kind: 'write'; rev: number; events: Array<{ type: 0 | 1; key: Buffer; value: Buffer; lease: bigint }> }
  | { kind: 'grant'; id: bigint; ttl: number }
  | { kind: 'revoke'; id: bigint }
  | { kind: 'compact'; rev: number }
  | { kind: 'auth'; auth: AuthData };

const WRITE = 1;
const GRANT = 2;
const REVOKE = 3;
const COMPACT = 4;
const AUTH = 5;

export function encodeWrite(rev: number, events: readonly MvccEvent[]): Buffer {
  let size = 1 + 8 + 4;
  for (const e of events) size += 1 + 4 + e.kv.keyBuf.length + (e.type === 0 ? 4 + e.kv.value.length + 8 : 0);
  const w = new Writer(size);
  w.u8(WRITE).u64(rev).u32(events.length);
  for (const e of events) {
    w.u8(e.type).bytes(e.kv.keyBuf);
    if (e.type === 0) w.bytes(e.kv.value).i64(e.kv.lease);
  }
  return w.buf;
}

export function encodeGrant(id: bigint, ttl: number): Buffer {
  return new Writer(1 + 8 + 8).u8(GRANT).i64(id).u64(ttl).buf;
}

export function encodeRevoke(id: bigint): Buffer {
  return new Writer(1 + 8).u8(REVOKE).i64(id).buf;
}

export function encodeCompact(rev: number): Buffer {
  return new Writer(1 + 8).u8(COMPACT).u64(rev).buf;
}

/** The whole auth state after an auth change (users, roles, enabled flag, auth revision). */
export function encodeAuth(auth: AuthData): Buffer {
  const body = encodeAuthData(auth);
  return new Writer(1 + 4 + body.length).u8(AUTH).bytes(body).buf;
}

export function decodeRecord(buf: Buffer): LogRecord {
  const r = new Reader(buf);
  switch (r.u8()) {
    case WRITE: {
      const rev = r.u64();
      const n = r.u32();
      const events: Array<{ type: 0 | 1; key: Buffer; value: Buffer; lease: bigint }> = [];
      for (let i = 0; i < n; i++) {
        const type = r.u8() as 0 | 1;
        const key = r.bytes();
        if (type === 0) events.push({ type, key, value: r.bytes(), lease: r.i64() });
        else events.push({ type, key, value: EMPTY, lease: 0n });
      }
      return { kind: 'write', rev, events };
    }
    case GRANT:
      return { kind: 'grant', id: r.i64(), ttl: r.u64() };
    case REVOKE:
      return { kind: 'revoke', id: r.i64() };
    case COMPACT:
      return { kind: 'compact', rev: r.u64() };
    case AUTH:
      return { kind: 'auth', auth: decodeAuthData(r.bytes()) };
    default:
      throw new Error(`unknown log record type ${buf[0]}`);
  }
}

export interface SnapshotState {
  rev: number;
  compactRev: number;
  leases: Array<{ id: bigint; ttl: number }>;
  versions: KeyValue[];
  /** Absent in version-1 snapshots (written before coord store had auth). */
  auth?: AuthData;
}

const SNAPSHOT_VERSION = 2;

export function encodeSnapshot(s: SnapshotState): Buffer {
  const auth = s.auth ? encodeAuthData(s.auth) : Buffer.alloc(0);
  let size = 4 + 8 + 8 + 4 + s.leases.length * 16 + 4 + 4 + auth.length;
  for (const kv of s.versions) size += 4 + kv.keyBuf.length + 8 * 4 + 4 + kv.value.length + 8;
  const w = new Writer(size);
  w.u32(SNAPSHOT_VERSION).u64(s.rev).u64(s.compactRev).u32(s.leases.length);
  for (const l of s.leases) w.i64(l.id).u64(l.ttl);
  w.u32(s.versions.length);
  for (const kv of s.versions) {
    w.bytes(kv.keyBuf).u64(kv.create).u64(kv.mod).u64(kv.sub).u64(kv.version).bytes(kv.value).i64(kv.lease);
  }
  w.bytes(auth);
  return w.buf;
}

export function decodeSnapshot(buf: Buffer): SnapshotState {
  const r = new Reader(buf);
  const v = r.u32();
  if (v !== 1 && v !== SNAPSHOT_VERSION) throw new Error(`unsupported snapshot format version ${v}`);
  const rev = r.u64();
  const compactRev = r.u64();
  const leases: Array<{ id: bigint; ttl: number }> = [];
  for (let n = r.u32(); n > 0; n--) leases.push({ id: r.i64(), ttl: r.u64() });
  const versions: KeyValue[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const keyBuf = r.bytes();
    versions.push({
      key: keyBuf.toString('latin1'),
      keyBuf,
      create: r.u64(),
      mod: r.u64(),
      sub: r.u64(),
      version: r.u64(),
      value: r.bytes(),
      lease: r.i64(),
    });
  }
  if (v === 1) return { rev, compactRev, leases, versions };
  const auth = r.bytes();
  return { rev, compactRev, leases, versions, auth: auth.length ? decodeAuthData(auth) : undefined };
}

class Writer {
  readonly buf: Buffer;
  private o = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  u8(n: number): this {
    this.buf[this.o++] = n;
    return this;
  }
  u32(n: number): this {
    this.buf.writeUInt32LE(n, this.o);
    this.o += 4;
    return this;
  }
  u64(n: number): this {
    this.buf.writeBigUInt64LE(BigInt(n), this.o);
    this.o += 8;
    return this;
  }
  i64(n: bigint): this {
    this.buf.writeBigInt64LE(n, this.o);
    this.o += 8;
    return this;
  }
  bytes(b: Buffer): this {
    this.u32(b.length);
    b.copy(this.buf, this.o);
    this.o += b.length;
    return this;
  }
}

class Reader {
  private o = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.o + n > this.buf.length) throw new Error('truncated record');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.o++];
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.o);
    this.o += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = Number(this.buf.readBigUInt64LE(this.o));
    this.o += 8;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64LE(this.o);
    this.o += 8;
    return v;
  }
  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    // Copy out: records and snapshots are read from large file buffers we do not want retained.
    const b = Buffer.from(this.buf.subarray(this.o, this.o + n));
    this.o += n;
    return b;
  }
}
