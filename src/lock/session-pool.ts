import { compare, op, type EtcdClient } from '../client/etcd-client.ts';
import { Session } from '../client/session.ts';

/** How long an unused pooled session keeps its lease before revoking it. */
const IDLE_MS = 30_000;

/**
 * A session lent to one queue entry (a lock, permit or candidacy under one prefix). Its signal
 * aborts if the lease is lost while lent; give it back with `done()` once the entry's key is gone.
 */
export interface SessionLoan {
  readonly session: Session;
  /** `<prefix>/<lease-hex>`: the entry's key, as etcd's concurrency package names it. */
  readonly key: string;
  /** Aborts when the session's lease is lost while this loan is out. */
  readonly signal: AbortSignal;
  /**
   * Deletes the entry's key (only if its create revision is still `createRevision`, when given) and
   * returns the session to the pool. If the delete cannot be confirmed the session is closed
   * instead: revoking its lease removes the key, and at worst the key expires with the lease.
   */
  done(createRevision?: number): Promise<void>;
}

interface Pooled {
  session: Session;
  requestedTtl: number;
  /** Prefixes with a live entry under this session: one key per prefix and lease. */
  inUse: Set<string>;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * Leases shared by the locks, permits and candidacies of one client, as etcd's concurrency.Session
 * is shared by Go code: taking a lock costs one put and releasing it one delete, instead of a
 * lease grant, a keepalive stream and a revoke each time. A session serves one entry per prefix at
 * a time (the key is `<prefix>/<lease-hex>`), so concurrent entries for the same name get distinct
 * leases. A lost lease is dropped from the pool and aborts every loan on it.
 */
export class SessionPool {
  private readonly pooled = new Set<Pooled>();

  constructor(private readonly client: EtcdClient) {}

  async borrow(ttl: number, pfx: string, signal: AbortSignal): Promise<SessionLoan> {
    let p = [...this.pooled].find((x) => x.requestedTtl === ttl && !x.inUse.has(pfx) && !x.session.lost);
    if (!p) {
      const session = await Session.create(this.client, { ttl, signal, signalScope: 'grant' });
      const fresh: Pooled = { session, requestedTtl: ttl, inUse: new Set(), idleTimer: undefined };
      p = fresh;
      this.pooled.add(fresh);
      session.signal.addEventListener('abort', () => this.drop(fresh), { once: true });
    }
    clearTimeout(p.idleTimer);
    p.inUse.add(pfx);
    return this.lend(p, pfx);
  }

  private lend(p: Pooled, pfx: string): SessionLoan {
    const lost = new AbortController();
    const onLost = () => lost.abort(p.session.signal.reason);
    if (p.session.signal.aborted) onLost();
    else p.session.signal.addEventListener('abort', onLost, { once: true });
    const key = `${pfx}${p.session.leaseHex}`;
    let returned: Promise<void> | undefined;
    const done = (createRevision?: number) =>
      (returned ??= (async () => {
        p.session.signal.removeEventListener('abort', onLost);
        if (!p.session.lost) {
          const timeoutMs = Math.min(2000, this.client.requestTimeoutMs);
          const deleted = await this.client
            .txn({ compare: createRevision === undefined ? [] : [compare.createRevision(key, '=', createRevision)], success: [op.delete(key)] }, { timeoutMs })
            .then(() => true, () => false);
          if (!deleted) await p.session.close();
        }
        p.inUse.delete(pfx);
        this.idleIfUnused(p);
      })());
    return { session: p.session, key, signal: lost.signal, done };
  }

  private idleIfUnused(p: Pooled): void {
    if (p.inUse.size > 0 || !this.pooled.has(p)) return;
    clearTimeout(p.idleTimer);
    p.idleTimer = setTimeout(() => {
      this.drop(p);
      void p.session.close();
    }, IDLE_MS);
    p.idleTimer.unref();
  }

  private drop(p: Pooled): void {
    clearTimeout(p.idleTimer);
    this.pooled.delete(p);
  }

  /** Revokes every pooled lease (their keys go with them). */
  async close(): Promise<void> {
    const all = [...this.pooled];
    this.pooled.clear();
    await Promise.all(all.map((p) => (clearTimeout(p.idleTimer), p.session.close())));
  }
}

const pools = new WeakMap<EtcdClient, SessionPool>();

/** The session pool of `client` (one per client). */
export function sessionPool(client: EtcdClient): SessionPool {
  let pool = pools.get(client);
  if (!pool) pools.set(client, (pool = new SessionPool(client)));
  return pool;
}

/**
 * Revokes the pooled leases of `client`, if it has any, giving up after `boundMs` (etcd may be
 * unreachable; the leases then expire by themselves within their TTL).
 */
export async function closeSessionPool(client: EtcdClient, boundMs: number): Promise<void> {
  const pool = pools.get(client);
  if (!pool) return;
  pools.delete(client);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([pool.close(), new Promise<void>((resolve) => (timer = setTimeout(resolve, boundMs)))]);
  clearTimeout(timer);
}
