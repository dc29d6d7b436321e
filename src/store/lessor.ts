import { randomBytes } from 'node:crypto';
import { Errors } from './errors.ts';
import type { LeaseAttachments } from './mvcc.ts';

/** etcd's ceiling on a lease TTL, in seconds. */
export const MAX_LEASE_TTL = 9_000_000_000;

export interface Lease {
  readonly id: bigint;
  /** Granted TTL in seconds (after raising to the minimum). */
  readonly ttl: number;
  /** Monotonic deadline in ms (performance.now() clock). */
  expiry: number;
  readonly keys: Set<string>;
}

export interface LessorOptions {
  /** Smallest TTL granted; lower requests are raised to it. Default 2 s, etcd's with default timing. */
  minTTL?: number;
  /** Called with the leases whose deadline passed; the store revokes them. */
  onExpired: (ids: bigint[]) => void;
  now?: () => number;
}

/**
 * Lease bookkeeping: grants, deadlines, attached keys. Expiry is driven by a min-heap of
 * deadlines with lazy deletion (a keepalive pushes a new entry; stale ones are skipped on pop),
 * so neither keepalives nor the expiry check scan every lease.
 */
export class Lessor implements LeaseAttachments {
  readonly leases = new Map<bigint, Lease>();
  private readonly heap: Array<{ id: bigint; expiry: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private readonly minTTL: number;
  private readonly now: () => number;
  private stopped = false;

  constructor(private readonly options: LessorOptions) {
    this.minTTL = options.minTTL ?? 2;
    this.now = options.now ?? (() => performance.now());
  }

  /** Validates a grant the way etcd does and returns the id and TTL to record. */
  prepareGrant(requestedId: bigint, ttl: number): { id: bigint; ttl: number } {
    if (ttl > MAX_LEASE_TTL) throw Errors.leaseTTLTooLarge();
    let id = requestedId;
    if (id === 0n) {
      do id = BigInt.asUintN(63, randomBytes(8).readBigUInt64BE());
      while (id === 0n || this.leases.has(id));
    } else if (this.leases.has(id)) {
      throw Errors.leaseExists();
    }
    return { id, ttl: Math.max(ttl, this.minTTL) };
  }

  grant(id: bigint, ttl: number): Lease {
    const lease: Lease = { id, ttl, expiry: this.now() + ttl * 1000, keys: new Set() };
    this.leases.set(id, lease);
    this.schedule(lease);
    return lease;
  }

  get(id: bigint): Lease | undefined {
    return this.leases.get(id);
  }

  /** Removes a lease; its keys are the caller's to delete. */
  remove(id: bigint): Lease | undefined {
    const lease = this.leases.get(id);
    this.leases.delete(id);
    return lease;
  }

  /** Extends a lease by its TTL; returns the TTL, or undefined when the lease does not exist. */
  renew(id: bigint): number | undefined {
    const lease = this.leases.get(id);
    if (!lease) return undefined;
    lease.expiry = this.now() + lease.ttl * 1000;
    this.schedule(lease);
    return lease.ttl;
  }

  /** Remaining seconds, truncated as etcd reports them; -1 once the deadline has passed. */
  remaining(lease: Lease): number {
    const ms = lease.expiry - this.now();
    return ms <= 0 ? -1 : Math.trunc(ms / 1000);
  }

  /** After a restart every lease gets a full TTL again, as etcd does on leader promotion. */
  refreshAll(): void {
    for (const lease of this.leases.values()) {
      lease.expiry = this.now() + lease.ttl * 1000;
      this.schedule(lease);
    }
  }

  attach(id: bigint, key: string): void {
    this.leases.get(id)?.keys.add(key);
  }

  detach(id: bigint, key: string): void {
    this.leases.get(id)?.keys.delete(key);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(lease: Lease): void {
    push(this.heap, { id: lease.id, expiry: lease.expiry });
    if (this.heap.length > 2 * this.leases.size + 1024) this.rebuildHeap();
    this.arm();
  }

  private rebuildHeap(): void {
    this.heap.length = 0;
    for (const l of this.leases.values()) push(this.heap, { id: l.id, expiry: l.expiry });
  }

  private arm(): void {
    if (this.stopped || this.heap.length === 0) return;
    const at = this.heap[0].expiry;
    if (at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - this.now()) + 1);
    this.timer.unref();
  }

  private expire(): void {
    this.timerAt = Infinity;
    const now = this.now();
    const expired: bigint[] = [];
    while (this.heap.length > 0 && this.heap[0].expiry <= now) {
      const { id, expiry } = pop(this.heap);
      const lease = this.leases.get(id);
      if (lease && lease.expiry === expiry) expired.push(id);
    }
    if (expired.length > 0) this.options.onExpired(expired);
    this.arm();
  }
}

type Entry = { id: bigint; expiry: number };

function push(h: Entry[], e: Entry): void {
  h.push(e);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p].expiry <= h[i].expiry) break;
    [h[p], h[i]] = [h[i], h[p]];
    i = p;
  }
}

function pop(h: Entry[]): Entry {
  const top = h[0];
  const last = h.pop()!;
  if (h.length > 0) {
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l].expiry < h[m].expiry) m = l;
      if (r < h.length && h[r].expiry < h[m].expiry) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i], h[m]];
      i = m;
    }
  }
  return top;
}
