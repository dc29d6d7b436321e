import { setMaxListeners } from 'node:events';
import { Backoff, sleep } from '../core/backoff.ts';
import { CoordError, abortError, isCoordError } from '../core/errors.ts';
import { callEach, Emitter } from '../core/events.ts';
import { tracedEvent } from '../core/tracing.ts';
import { retryUntilClosed, type LoopFailure } from '../core/retry-until-closed.ts';
import { leaseKeeper, type KeptLease } from './lease-keeper.ts';
import type { EtcdClient } from './etcd-client.ts';

/** Options for a Session (a lease kept alive for the locks, elections and registrations on it). */
export interface SessionOptions {
  /** Lease TTL in seconds. Default 10. */
  ttl?: number;
  /** Aborting it before the lease is granted rejects create(); afterwards it closes the session (see `signalScope`). */
  signal?: AbortSignal;
  /** `'grant'`: the signal only bounds the lease grant, not the session's life. Default `'lifetime'`. */
  signalScope?: 'grant' | 'lifetime';
}

/**
 * A lease kept alive for as long as the session lives, with its own deadline check: the lease is
 * declared lost when no keepalive answer arrives before the TTL that the last answer granted runs
 * out, counted from when that keepalive was SENT — even if the stream stays open but silent. Loss
 * aborts `signal`, fires `onLost`, and is final: holders (locks, leadership) must not assume they
 * still hold anything. Use {@link SessionSupervisor} for "keep one session alive, forever".
 */
export class Session {
  private readonly controller = new AbortController();
  private readonly lostEmitter = new Emitter<CoordError>();
  /** Fires once if the lease is lost (expired, revoked, or unconfirmed past its deadline). */
  readonly onLost = this.lostEmitter.on;
  readonly signal: AbortSignal = this.controller.signal;
  private deadline: number;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private readonly kept: KeptLease;
  /** A LeaseTimeToLive is asking etcd whether the lease outlived its deadline. */
  private asking = false;
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly client: EtcdClient,
    readonly lease: string,
    readonly ttl: number,
    grantSentAt: number,
  ) {
    // A shared session's signal is listened to by every write and holder on it (thousands at once).
    setMaxListeners(0, this.signal);
    this.deadline = grantSentAt + ttl * 1000;
    this.armDeadline();
    this.kept = leaseKeeper(client).keep(lease, ttl, (answer, sentAt) => this.onAnswer(answer, sentAt));
  }

  static async create(client: EtcdClient, options: SessionOptions = {}): Promise<Session> {
    const sentAt = performance.now();
    const { id, ttl } = await client.leaseGrant(options.ttl ?? 10, { signal: options.signal });
    const s = new Session(client, id, ttl, sentAt);
    if (options.signal && options.signalScope !== 'grant') {
      if (options.signal.aborted) await s.close();
      else {
        const signal = options.signal;
        const onAbort = () => void s.close();
        signal.addEventListener('abort', onAbort, { once: true });
        // Don't let a long-lived caller signal collect one listener (and one Session) per session.
        s.signal.addEventListener('abort', () => signal.removeEventListener('abort', onAbort), { once: true });
      }
    }
    return s;
  }

  /** The lease ID in hex, as etcd's concurrency package names keys (`<prefix>/<hex>`). */
  get leaseHex(): string {
    return BigInt(this.lease).toString(16);
  }

  get lost(): boolean {
    return this.signal.aborted;
  }

  /**
   * Whether the lease is still ours, checking its deadline now rather than when a timer gets to run:
   * after the process was paused (SIGSTOP, a long GC, a blocked event loop) timers fire late, and the
   * signal may not have aborted yet although the TTL ran out. A passed deadline marks the session lost.
   */
  checkAlive(): boolean {
    if (!this.lost && !this.closed && performance.now() >= this.deadline) {
      this.markLost(new CoordError('lease-lost', `lease ${this.leaseHex} could not be kept alive before its ${this.ttl}s TTL ran out`), true);
    }
    return !this.lost && !this.closed;
  }

  /** Throws the loss reason if the lease was lost. */
  assertAlive(): void {
    if (this.signal.aborted) throw abortError(this.signal, 'session');
  }

  private onAnswer(ttl: number, sentAt: number): void {
    if (this.lost || this.closed) return;
    if (ttl <= 0) {
      this.markLost(new CoordError('lease-lost', `lease ${this.leaseHex} expired or was revoked`));
      return;
    }
    this.deadline = Math.max(this.deadline, sentAt + ttl * 1000);
    this.armDeadline();
  }

  /**
   * Two timers' worth in one: a third of the TTL before the deadline, if no fresher answer came,
   * ask etcd (confirm()); at the deadline, the lease is lost. The deadline is never moved past
   * what an answer from etcd vouches for, so a lock holder is told before anyone else can take it.
   */
  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    const now = performance.now();
    const doubtAt = this.deadline - (this.ttl * 1000) / 3;
    const at = !this.asking && now < doubtAt ? doubtAt : this.deadline;
    // setImmediate: a starved event loop runs due timers before the I/O that arrived meanwhile, so
    // let answers already received be read before the deadline is judged.
    this.deadlineTimer = setTimeout(() => setImmediate(() => this.onTimer()), Math.max(0, at - now));
    this.deadlineTimer.unref();
  }

  private onTimer(): void {
    if (this.lost || this.closed) return;
    const t = performance.now();
    if (t >= this.deadline) this.markLost(new CoordError('lease-lost', `lease ${this.leaseHex} could not be kept alive before its ${this.ttl}s TTL ran out`), true);
    else if (t >= this.deadline - (this.ttl * 1000) / 3) this.confirm();
    else this.armDeadline();
  }

  /**
   * Keepalive answers are late (two intervals without one). A late answer (a loaded client or
   * server, a stuck stream) is not a loss by itself: ask etcd how long the lease has left
   * (LeaseTimeToLive) and carry on if it still holds it, a second short of what it says (it answers
   * in whole seconds); the stream is reopened if it went silent. etcd's "no such lease" is a loss
   * at once. Otherwise one slow second would make every client of a busy server revoke and grant.
   */
  private confirm(): void {
    if (this.asking || this.lost || this.closed) return;
    this.asking = true;
    this.armDeadline();
    const askedAt = performance.now();
    this.kept.nudge();
    const timeoutMs = Math.max(100, Math.min(this.client.requestTimeoutMs, this.deadline - askedAt));
    this.client.leaseTimeToLive(this.lease, { timeoutMs }).then(
      ({ ttl }) => {
        this.asking = false;
        if (this.lost || this.closed) return;
        if (ttl <= 0) return this.markLost(new CoordError('lease-lost', `lease ${this.leaseHex} expired or was revoked`));
        this.deadline = Math.max(this.deadline, askedAt + (ttl - 1) * 1000);
        this.armDeadline();
      },
      (e: unknown) => {
        this.asking = false;
        if (this.lost || this.closed) return;
        if (isCoordError(e, 'lease-not-found')) return this.markLost(new CoordError('lease-lost', `lease ${this.leaseHex} expired or was revoked`));
        // No answer: the deadline decides.
        this.armDeadline();
      },
    );
  }

  /**
   * `unconfirmed`: lost by our own deadline, not by etcd's word. etcd may still hold the lease, and
   * our keys with it, for up to a TTL (a newly elected etcd leader extends every lease), so it is
   * revoked now: holders have stopped, and no one else should wait on keys no one stands behind.
   */
  private markLost(err: CoordError, unconfirmed = false): void {
    if (this.lost || this.closed) return;
    this.stop();
    if (unconfirmed) this.closing = this.revoke();
    // Holders react to the loss (locks abort, registrations re-register) inside this span.
    tracedEvent('coord.lease.lost', { 'coord.lease.id': this.leaseHex, 'coord.lease.ttl': this.ttl, 'coord.lease.unconfirmed': unconfirmed }, () => {
      this.controller.abort(err);
      this.lostEmitter.emit(err);
    }, err.message);
  }

  private stop(): void {
    clearTimeout(this.deadlineTimer);
    this.kept.dispose();
  }

  /**
   * Stops keeping the lease alive and revokes it (its keys go with it). Best effort when etcd is
   * unreachable. Every call resolves only once the revoke is done, whichever call started it
   * (a lease lost by its deadline is revoked as it is lost; close() then waits for that).
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    const wasLost = this.lost;
    this.closed = true;
    this.stop();
    this.closing = wasLost ? Promise.resolve() : this.revoke();
    // After `closing` is set: abort listeners that call close() again must wait for the revoke too.
    if (!this.signal.aborted) this.controller.abort(new CoordError('closed', 'session closed'));
    return this.closing;
  }

  /**
   * Revokes the lease, retrying transient failures until the lease would have run out by itself
   * (at least 2 s), each attempt bounded by the client's request timeout. A single attempt is not
   * enough: when the etcd leader dies, a follower forwards the revoke to it and etcd drops it
   * without an answer, and a lease left behind keeps its lock or election key for a whole TTL.
   * Revoking is idempotent; 'lease-not-found' means it is already gone.
   */
  private async revoke(): Promise<void> {
    const end = Math.max(this.deadline, performance.now() + 2000);
    const backoff = new Backoff({ initialMs: 50, maxMs: 250 });
    for (;;) {
      const left = end - performance.now();
      if (left <= 0) return;
      try {
        await this.client.leaseRevoke(this.lease, { timeoutMs: Math.min(left, this.client.requestTimeoutMs) });
        return;
      } catch (e) {
        if (!isCoordError(e) || !e.recoverable) return;
        await sleep(Math.min(backoff.next(), Math.max(0, end - performance.now())));
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Options for a SessionSupervisor: those of a Session, plus a log callback. */
export interface SupervisorOptions extends SessionOptions {
  /** Called for lines worth logging (loss, recovery). */
  log?: (line: string) => void;
}

/**
 * Keeps one session alive forever: when the lease is lost it grants a new one as soon as etcd
 * answers (after a random pause of up to a tenth of the TTL, at most 1 s, so the clients of a
 * server that lost every lease do not all come back in the same instant; then backoff, never
 * giving up) and reports both moments, so owners can re-create their keys. One supervisor can be
 * shared by many owners (a client's registrations, locks and elections): see `clientSessions()`.
 */
export class SessionSupervisor {
  private readonly lostEmitter = new Emitter<CoordError>();
  private readonly sessionEmitter = new Emitter<Session>();
  /** A lease was lost; a replacement is being sought. */
  readonly onLost = this.lostEmitter.on;
  /** A (new) session is live: the first one, and each one after a loss. */
  readonly onSession = this.sessionEmitter.on;
  private readonly errorEmitter = new Emitter<LoopFailure>();
  /** An attempt to grant a lease failed; it is retried with backoff until close(). */
  readonly onError = this.errorEmitter.on;
  /** Owners told of the same moments without a closure each (a client's registrations: thousands); see follow(). */
  private readonly followers = new Set<SessionFollower>();
  current: Session | undefined;
  private acquiring: Promise<Session> | undefined;
  private hadSession = false;
  private closed = false;
  private readonly closer = new AbortController();

  constructor(
    private readonly client: EtcdClient,
    private readonly options: SupervisorOptions = {},
  ) {}

  /** The lease TTL asked for, seconds. */
  get ttl(): number {
    return this.options.ttl ?? 10;
  }

  /**
   * Tells `follower` of every lost lease, new session and failed grant, as onLost / onSession /
   * onError do, until unfollow(). For owners that come by the thousand: one set entry each instead
   * of three listeners, and leaving is O(1).
   */
  follow(follower: SessionFollower): void {
    this.followers.add(follower);
  }

  unfollow(follower: SessionFollower): void {
    this.followers.delete(follower);
  }

  private tell(each: (f: SessionFollower) => void): void {
    callEach(this.followers, each);
  }

  private emitSession(s: Session): void {
    this.sessionEmitter.emit(s);
    this.tell((f) => f.sessionStarted(s));
  }

  /** Resolves with the first session (waiting for etcd as long as needed, unless aborted). */
  start(signal?: AbortSignal): Promise<Session> {
    return this.session(signal);
  }

  /**
   * The live session, or the next one: waits while a lease is being granted, for as long as etcd
   * takes, until `signal` aborts. The signal ends only this wait, never the supervisor's loop.
   * Before the first session, a refusal that is not about reachability (auth) rejects the waiters,
   * and the next call tries again; after that, every failure is retried until close().
   */
  session(signal?: AbortSignal): Promise<Session> {
    if (this.closed) return Promise.reject(new CoordError('closed', 'session supervisor closed'));
    if (this.current && !this.current.lost) return Promise.resolve(this.current);
    if (!this.acquiring) {
      const acquiring = this.acquire(this.hadSession ? performance.now() : undefined);
      this.acquiring = acquiring;
      // Waiters get the rejection; the loop itself only ends rejected on close() or a first refusal.
      acquiring.catch(() => {}).finally(() => this.acquiring === acquiring && (this.acquiring = undefined));
    }
    return untilAborted(this.acquiring, signal);
  }

  private async acquire(lostAt?: number): Promise<Session> {
    const abort = this.closer.signal;
    const background = lostAt !== undefined;
    if (background) await sleep(Math.random() * Math.min(1000, this.ttl * 100), abort);
    const s = await retryUntilClosed(
      async () => {
        const s = await Session.create(this.client, { ttl: this.options.ttl, signal: abort });
        if (this.closed) {
          await s.close();
          throw new CoordError('closed', 'session supervisor closed');
        }
        return s;
      },
      {
        signal: abort,
        backoff: new Backoff({ initialMs: 200, maxMs: 5000 }),
        onFailure: (f) => {
          // The first grant answers a caller, who learns of a request etcd refuses outright; after
          // a loss nobody waits, so every kind of failure is retried until close().
          if (!background && !f.error.recoverable && f.error.code !== 'lease-lost') throw f.error;
          this.options.log?.(`${background ? 're-acquiring' : 'acquiring'} a lease failed (${f.error.message}); attempt ${f.failures}, retrying in ${f.retryInMs} ms`);
          tracedEvent('coord.lease.error', { 'coord.lease.failures': f.failures }, undefined, f.error.message);
          this.errorEmitter.emit(f);
          this.tell((o) => o.sessionFailed(f));
        },
      },
    );
    this.current = s;
    this.hadSession = true;
    this.acquiring = undefined;
    s.onLost((err) => {
      if (this.closed || this.current !== s) return;
      this.current = undefined;
      this.options.log?.(`${err.message}; re-acquiring a lease`);
      this.lostEmitter.emit(err);
      this.tell((f) => f.sessionLost(err));
      // The loop goes on even if nobody waits for it now: owners re-write their keys on onSession.
      void this.session();
    });
    if (lostAt === undefined) this.emitSession(s);
    else this.options.log?.(`lease ${s.leaseHex} granted ${Math.round(performance.now() - lostAt)} ms after the loss; its owners write their keys again`);
    if (lostAt === undefined) return s;
    // Owners re-creating their keys on the new lease run inside this span.
    tracedEvent('coord.lease.recovered', { 'coord.lease.id': s.leaseHex, 'coord.lease.outage_ms': performance.now() - lostAt }, () => this.emitSession(s));
    return s;
  }

  /** Stops re-acquiring and revokes the current lease (its keys go with it). */
  async close(): Promise<void> {
    this.closed = true;
    this.closer.abort(new CoordError('closed', 'session supervisor closed'));
    await this.current?.close();
  }
}

/** What SessionSupervisor.follow() calls: the same moments as its onLost / onSession / onError. */
export interface SessionFollower {
  sessionLost(err: CoordError): void;
  sessionStarted(s: Session): void;
  sessionFailed(f: LoopFailure): void;
}

/** `p`, or the abort error of `signal` as soon as it aborts (`p` goes on). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError(signal, 'session'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal, 'session'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}
