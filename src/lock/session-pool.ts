import { compare, op, type EtcdClient } from '../client/etcd-client.ts';
import { Session } from '../client/session.ts';
import { clientSessions } from '../client/client-sessions.ts';
import { Backoff } from '../core/backoff.ts';
import { CoordError, isCoordError } from '../core/errors.ts';
import { tracedEvent } from '../core/tracing.ts';
import { retryUntilClosed } from '../core/retry-until-closed.ts';

/** How long an unused extra pooled session keeps its lease before revoking it. */
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
   * returns the session to the pool. A failed delete is retried on the same lease, with backoff
   * and a log line each time, until it is confirmed or the lease is gone (its keys with it): the
   * lease also carries the client's other entries and registrations, which must not end with it.
   * A refusal (permission denied, three times) rejects, and the key is left on the lease.
   */
  done(createRevision?: number): Promise<void>;
}

interface Pooled {
  session: Session;
  requestedTtl: number;
  /** The client's shared session (never closed for being idle), or an extra lease of the pool's. */
  shared: boolean;
  /** Prefixes with a live entry under this session: one key per prefix and lease. */
  inUse: Set<string>;
  idleTimer: NodeJS.Timeout | undefined;
}

/** Options for a client's session pool. */
export interface SessionPoolOptions {
  /** Receives a line per failed delete on release. Default: none. */
  log?: (line: string) => void;
}

/**
 * Leases for the locks, permits and candidacies of one client, as etcd's concurrency.Session is
 * shared by Go code: taking a lock costs one put and releasing it one delete. Entries go on the
 * client's shared session (the lease its registrations use, see `clientSessions()`) first. A
 * session serves one entry per prefix at a time (the key is `<prefix>/<lease-hex>`), so concurrent
 * entries for the same name take extra leases, revoked after 30 s unused. A lost lease is dropped
 * from the pool and aborts every loan on it.
 */
export class SessionPool {
  private readonly pooled = new Set<Pooled>();
  private readonly closer = new AbortController();

  constructor(
    private readonly client: EtcdClient,
    private readonly options: SessionPoolOptions = {},
  ) {}

  async borrow(ttl: number, pfx: string, signal: AbortSignal): Promise<SessionLoan> {
    const shared = await this.sharedSession(ttl, signal);
    let p = [...this.pooled].find((x) => x.requestedTtl === ttl && !x.inUse.has(pfx) && !x.session.lost);
    if (!p && shared && !shared.lost && ![...this.pooled].some((x) => x.session === shared)) p = this.add(shared, ttl, true);
    if (!p) p = this.add(await Session.create(this.client, { ttl, signal, signalScope: 'grant' }), ttl, false);
    clearTimeout(p.idleTimer);
    p.inUse.add(pfx);
    return this.lend(p, pfx);
  }

  /**
   * The client's shared session for `ttl`, waiting for its lease at most one request timeout (as
   * long as a grant of our own would take to fail); undefined if it is busy being re-acquired.
   */
  private async sharedSession(ttl: number, signal: AbortSignal): Promise<Session | undefined> {
    const sup = clientSessions(this.client).supervisor(ttl);
    if (sup.current && !sup.current.lost) return sup.current;
    const timeout = AbortSignal.timeout(this.client.requestTimeoutMs);
    try {
      return await sup.session(AbortSignal.any([signal, timeout]));
    } catch (e) {
      if (timeout.aborted && !signal.aborted) throw new CoordError('unavailable', `no lease could be granted within ${this.client.requestTimeoutMs} ms`, { cause: e });
      throw e;
    }
  }

  private add(session: Session, ttl: number, shared: boolean): Pooled {
    const p: Pooled = { session, requestedTtl: ttl, shared, inUse: new Set(), idleTimer: undefined };
    this.pooled.add(p);
    session.signal.addEventListener('abort', () => this.drop(p), { once: true });
    return p;
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
        await this.deleteKey(p.session, key, createRevision);
        p.inUse.delete(pfx);
        this.idleIfUnused(p);
      })());
    return { session: p.session, key, signal: lost.signal, done };
  }

  /** Deletes an entry's key on its own lease, retrying until confirmed, the lease is gone, or close(). */
  private async deleteKey(session: Session, key: string, createRevision: number | undefined): Promise<void> {
    if (session.lost) return;
    const signal = AbortSignal.any([session.signal, this.closer.signal]);
    const timeoutMs = Math.min(2000, this.client.requestTimeoutMs);
    await retryUntilClosed(
      () => this.client.txn({ compare: createRevision === undefined ? [] : [compare.createRevision(key, '=', createRevision)], success: [op.delete(key)] }, { timeoutMs, signal }),
      {
        signal,
        backoff: new Backoff({ initialMs: 100, maxMs: 2000 }),
        onFailure: (f) => {
          // A refusal (permission) will not go away: the key stays on the lease, its prefix is not
          // reused on this session, and release() reports the error.
          if (!f.error.recoverable && f.failures >= 3) throw f.error;
          this.options.log?.(`releasing ${key}: delete failed (${f.error.message}); attempt ${f.failures}, retrying in ${f.retryInMs} ms on the same lease`);
          tracedEvent('coord.lock.release_error', { 'coord.lock.key': key, 'coord.lock.failures': f.failures }, undefined, f.error.message);
        },
      },
    ).catch((e: unknown) => {
      // The lease is gone (its keys went with it) or the pool closed (it revokes every lease).
      if (!signal.aborted && !isCoordError(e, 'closed')) throw e;
    });
  }

  private idleIfUnused(p: Pooled): void {
    if (p.shared || p.inUse.size > 0 || !this.pooled.has(p)) return;
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

  /** Revokes every extra pooled lease (the shared ones are the client's: see `closeClientSessions`). */
  async close(): Promise<void> {
    this.closer.abort(new CoordError('closed', 'session pool closed'));
    const all = [...this.pooled];
    this.pooled.clear();
    await Promise.all(all.map((p) => (clearTimeout(p.idleTimer), p.shared ? undefined : p.session.close())));
  }
}

const pools = new WeakMap<EtcdClient, SessionPool>();

/** The session pool of `client` (one per client); `options` apply when it is created. */
export function sessionPool(client: EtcdClient, options: SessionPoolOptions = {}): SessionPool {
  let pool = pools.get(client);
  if (!pool) pools.set(client, (pool = new SessionPool(client, options)));
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
