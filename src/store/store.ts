import { Errors } from './errors.ts';
import { Lessor } from './lessor.ts';
import { EMPTY, Mvcc, keyRange, type KeyValue, type MvccEvent } from './mvcc.ts';
import { encodeAuth, encodeCompact, encodeGrant, encodeRevoke, encodeWrite } from './codec.ts';
import { AuthStore } from './auth.ts';
import { crc32 } from './crc32.ts';
import { checkIntervals, checkTxn, txnHasWrites } from './requests.ts';
import type { Compare, DeleteRangeRequest, KeyValueMsg, PutRequest, RangeRequest, RequestOp, TxnRequest } from '../protocol/etcd-types.ts';

/** What a mutation leaves behind: the log record to persist and the events to publish once durable. */
export interface Change {
  record: Buffer;
  events: MvccEvent[];
}

export interface StoreStateOptions {
  maxTxnOps: number;
  minLeaseTTL?: number;
  /** Idle lifetime of an auth token. Default 300 s, as etcd's `--auth-token-ttl`. */
  authTokenTtlMs?: number;
  /** Receives every change, in order, as it is applied in memory. */
  onChange: (change: Change) => void;
}

const l1 = (b: Buffer) => b.toString('latin1');
const int = (v: string | number | undefined) => Number(v ?? 0);
const big = (v: string | number | undefined) => BigInt(v ?? 0);

export function kvMsg(kv: KeyValue, keysOnly = false): KeyValueMsg {
  return {
    key: kv.keyBuf,
    create_revision: kv.create,
    mod_revision: kv.mod,
    version: kv.version,
    value: keysOnly ? EMPTY : kv.value,
    lease: kv.lease === 0n ? 0 : kv.lease.toString(),
  };
}

/**
 * etcd's request semantics over the MVCC state and the lessor: Range, Put, DeleteRange, Txn,
 * Compact and the lease calls, with etcd's validation order and errors. Every mutation is
 * applied in memory synchronously and handed to `onChange` as one log record, so the caller can
 * make it durable before replying. Nothing here does I/O.
 */
export class StoreState {
  readonly mvcc: Mvcc;
  readonly lessor: Lessor;
  readonly auth: AuthStore;

  constructor(private readonly options: StoreStateOptions) {
    this.auth = new AuthStore({ tokenTtlMs: options.authTokenTtlMs ?? 300_000, onChange: (d) => options.onChange({ record: encodeAuth(d), events: [] }) });
    this.lessor = new Lessor({ minTTL: options.minLeaseTTL, onExpired: (ids) => ids.forEach((id) => this.revokeLease(id)) });
    this.mvcc = new Mvcc(this.lessor);
  }

  get rev(): number {
    return this.mvcc.rev;
  }

  // --- KV ---

  range(r: RangeRequest) {
    const mvcc = this.mvcc;
    const rev = mvcc.readRev(int(r.revision));
    const all = [...mvcc.scan(keyRange(l1(r.key), l1(r.range_end)), rev)];
    const count = all.length;
    if (r.count_only) return { header: { revision: mvcc.rev }, kvs: [], more: false, count };
    let kvs = all;
    const minMod = int(r.min_mod_revision);
    const maxMod = int(r.max_mod_revision);
    const minCreate = int(r.min_create_revision);
    const maxCreate = int(r.max_create_revision);
    if (minMod || maxMod || minCreate || maxCreate) {
      kvs = kvs.filter(
        (kv) =>
          (!minMod || kv.mod >= minMod) && (!maxMod || kv.mod <= maxMod) && (!minCreate || kv.create >= minCreate) && (!maxCreate || kv.create <= maxCreate),
      );
    }
    let order = r.sort_order;
    if (order === 0 && r.sort_target !== 0) order = 1;
    if (order !== 0 && !(order === 1 && r.sort_target === 0)) {
      const cmp = sortComparator(r.sort_target);
      kvs.sort(order === 2 ? (a, b) => cmp(b, a) : cmp);
    }
    const limit = int(r.limit);
    let more = false;
    if (limit > 0 && kvs.length > limit) {
      kvs = kvs.slice(0, limit);
      more = true;
    }
    return { header: { revision: mvcc.rev }, kvs: kvs.map((kv) => kvMsg(kv, r.keys_only)), more, count };
  }

  put(r: PutRequest) {
    const res = this.applyPut(r);
    return { header: { revision: this.commit() }, ...res };
  }

  deleteRange(r: DeleteRangeRequest) {
    const res = this.applyDelete(r);
    return { header: { revision: this.commit() }, ...res };
  }

  txn(r: TxnRequest) {
    checkTxn(r, this.options.maxTxnOps);
    checkIntervals(r.success);
    checkIntervals(r.failure);
    // etcd decides every compare along the path against the state before the txn, then checks
    // the chosen ops, and only then writes: a failing check leaves nothing applied.
    const path = this.choosePath(r);
    this.checkPath(r, path, 0);
    const responses = this.applyTxn(r, path, { i: 0 });
    return { header: { revision: this.commit() }, succeeded: path[0], responses };
  }

  compact(revision: number) {
    const mvcc = this.mvcc;
    if (revision <= mvcc.compactRev) throw Errors.compacted();
    if (revision > mvcc.rev) throw Errors.futureRev();
    mvcc.compact(revision);
    this.options.onChange({ record: encodeCompact(revision), events: [] });
    return { header: { revision: mvcc.rev } };
  }

  private applyPut(r: PutRequest) {
    const key = l1(r.key);
    let value = r.value;
    let lease = big(r.lease);
    const prev = this.mvcc.get(key);
    if (r.ignore_value || r.ignore_lease) {
      if (!prev) throw Errors.keyNotFound();
      if (r.ignore_value) value = prev.value;
      if (r.ignore_lease) lease = prev.lease;
    }
    if (lease !== 0n && !this.lessor.get(lease)) throw Errors.leaseNotFound();
    // Copy out of the request: a decoded field is a view that would pin the whole message buffer.
    this.mvcc.put(key, prev ? prev.keyBuf : Buffer.from(r.key), value === prev?.value ? value : Buffer.from(value), lease);
    return r.prev_kv && prev ? { prev_kv: kvMsg(prev) } : {};
  }

  private applyDelete(r: DeleteRangeRequest) {
    const deleted = this.mvcc.del(keyRange(l1(r.key), l1(r.range_end)));
    return { deleted: deleted.length, prev_kvs: r.prev_kv ? deleted.map((kv) => kvMsg(kv)) : [] };
  }

  /** Ends the current write transaction; logs it when it changed anything. Returns the revision. */
  private commit(): number {
    const events = this.mvcc.end();
    if (events.length > 0) this.options.onChange({ record: encodeWrite(this.mvcc.rev, events), events });
    return this.mvcc.rev;
  }

  /** The branch taken by the txn and by each nested txn on it, depth first. */
  private choosePath(r: TxnRequest, path: boolean[] = []): boolean[] {
    const ok = r.compare.every((c) => this.compare(c));
    path.push(ok);
    for (const op of ok ? r.success : r.failure) if (op.request === 'request_txn') this.choosePath(op.request_txn!, path);
    return path;
  }

  private checkPath(r: TxnRequest, path: boolean[], at: number): number {
    const ops = path[at] ? r.success : r.failure;
    let next = at + 1;
    for (const op of ops) {
      if (op.request === 'request_put') {
        const p = op.request_put!;
        if (p.ignore_value || p.ignore_lease) {
          if (!this.mvcc.get(l1(p.key))) throw Errors.keyNotFound();
        }
        const lease = big(p.lease);
        if (lease !== 0n && !this.lessor.get(lease)) throw Errors.leaseNotFound();
      } else if (op.request === 'request_range') {
        this.mvcc.readRev(int(op.request_range!.revision));
      } else if (op.request === 'request_txn') {
        next = this.checkPath(op.request_txn!, path, next);
      }
    }
    return next;
  }

  private applyTxn(r: TxnRequest, path: boolean[], cursor: { i: number }): unknown[] {
    const ok = path[cursor.i++];
    return (ok ? r.success : r.failure).map((op) => this.applyOp(op, path, cursor));
  }

  private applyOp(op: RequestOp, path: boolean[], cursor: { i: number }) {
    // An op's header carries the revision as of just after it: ops before the txn's first write
    // report the old revision, later ones the new. Nested txns report an empty header, as etcd.
    const after = () => ({ revision: this.mvcc.dirty ? this.mvcc.writeRev : this.mvcc.rev });
    switch (op.request) {
      case 'request_range': {
        const res = this.range(op.request_range!);
        return { response_range: { ...res, header: after() } };
      }
      case 'request_put': {
        const res = this.applyPut(op.request_put!);
        return { response_put: { ...res, header: after() } };
      }
      case 'request_delete_range': {
        const res = this.applyDelete(op.request_delete_range!);
        return { response_delete_range: { ...res, header: after() } };
      }
      default: {
        const succeeded = path[cursor.i];
        return { response_txn: { header: { revision: 0 }, succeeded, responses: this.applyTxn(op.request_txn!, path, cursor) } };
      }
    }
  }

  private compare(c: Compare): boolean {
    const key = l1(c.key);
    const kvs = c.range_end.length ? [...this.mvcc.scan(keyRange(key, l1(c.range_end)))] : [this.mvcc.get(key)];
    const present = kvs.filter((kv): kv is KeyValue => kv !== undefined);
    if (present.length === 0) {
      // A value compare on a missing key is false; other targets compare the zero value.
      if (c.target === 3) return false;
      return compareOne(c, undefined);
    }
    return present.every((kv) => compareOne(c, kv));
  }

  /**
   * A CRC-32 over every retained version (key, revisions, value) up to `revision`, for comparing
   * replicas or runs of the same workload. Same purpose as etcd's HashKV, different numbers.
   */
  hashKV(revision: number) {
    const rev = this.mvcc.readRev(revision);
    let hash = 0;
    const n = Buffer.alloc(16);
    for (const kv of this.mvcc.allVersions()) {
      if (kv.mod > rev) break;
      n.writeBigUInt64LE(BigInt(kv.mod), 0);
      n.writeBigUInt64LE(BigInt(kv.version), 8);
      hash = crc32(kv.keyBuf, hash);
      hash = crc32(n, hash);
      hash = crc32(kv.value, hash);
    }
    return { header: { revision: this.mvcc.rev }, hash: hash >>> 0, compact_revision: this.mvcc.compactRev };
  }

  // --- leases ---

  leaseGrant(ttl: number, requestedId: bigint) {
    const { id, ttl: granted } = this.lessor.prepareGrant(requestedId, ttl);
    this.lessor.grant(id, granted);
    this.options.onChange({ record: encodeGrant(id, granted), events: [] });
    return { header: { revision: this.mvcc.rev }, ID: id.toString(), TTL: granted, error: '' };
  }

  leaseRevoke(id: bigint) {
    if (!this.lessor.get(id)) throw Errors.leaseNotFound();
    this.revokeLease(id);
    return { header: { revision: this.mvcc.rev } };
  }

  /** Deletes every key of the lease at one revision (sorted, as etcd), then drops the lease. */
  private revokeLease(id: bigint): void {
    const lease = this.lessor.get(id);
    if (!lease) return;
    for (const key of [...lease.keys].sort()) this.mvcc.del({ key, end: null });
    this.commit();
    this.lessor.remove(id);
    this.options.onChange({ record: encodeRevoke(id), events: [] });
  }

  /** Replays one log record (recovery). */
  replayWrite(rev: number, events: Array<{ type: 0 | 1; key: Buffer; value: Buffer; lease: bigint }>): void {
    if (rev !== this.mvcc.rev + 1) throw new Error(`log replay out of order: record for revision ${rev} after revision ${this.mvcc.rev}`);
    for (const e of events) {
      const key = l1(e.key);
      if (e.type === 0) this.mvcc.put(key, e.key, e.value, e.lease);
      else this.mvcc.del({ key, end: null });
    }
    this.mvcc.end();
  }
}

function compareOne(c: Compare, kv: KeyValue | undefined): boolean {
  let r: number;
  switch (c.target) {
    case 0:
      r = cmpNum(kv?.version ?? 0, int(c.version));
      break;
    case 1:
      r = cmpNum(kv?.create ?? 0, int(c.create_revision));
      break;
    case 2:
      r = cmpNum(kv?.mod ?? 0, int(c.mod_revision));
      break;
    case 3:
      r = Buffer.compare(kv?.value ?? EMPTY, c.value ?? EMPTY);
      break;
    case 4: {
      const a = kv?.lease ?? 0n;
      const b = big(c.lease);
      r = a < b ? -1 : a > b ? 1 : 0;
      break;
    }
    default:
      return false;
  }
  switch (c.result) {
    case 0:
      return r === 0;
    case 1:
      return r > 0;
    case 2:
      return r < 0;
    case 3:
      return r !== 0;
    default:
      return false;
  }
}

const cmpNum = (a: number, b: number) => (a < b ? -1 : a > b ? 1 : 0);

function sortComparator(target: number): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case 1:
      return (a, b) => a.version - b.version;
    case 2:
      return (a, b) => a.create - b.create;
    case 3:
      return (a, b) => a.mod - b.mod;
    case 4:
      return (a, b) => Buffer.compare(a.value, b.value);
    default:
      return (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  }
}
