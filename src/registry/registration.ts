import { CoordError } from '../core/errors.ts';
import { Emitter } from '../core/events.ts';
import { traced, tracedEvent } from '../core/tracing.ts';
import { retryUntilClosed, type LoopFailure } from '../core/retry-until-closed.ts';
import { compare, op, type EtcdClient, type KeyValue } from '../client/etcd-client.ts';
import { SessionSupervisor, type Session } from '../client/session.ts';
import { clientSessions } from '../client/client-sessions.ts';
import { abortError, isCoordError } from '../core/errors.ts';
import { registrationWatch, type RegistrationWatch } from './registration-watch.ts';
import { writeBatcher, type WriteBatcher } from './write-batcher.ts';
import { decodeInstance, encodeInstance, serviceKey, type ServiceInstance } from './instance.ts';
import { resolveFormats, type RegistryFormat, type RegistryFormatName } from './registry-format.ts';

/** Options for `Coord.register()`; defaults in each field's doc. */
export interface RegisterOptions {
  /** Lease TTL in seconds: how long a crashed instance stays listed. Default 10. */
  ttl?: number;
  /**
   * Bounds the registering only: register() waits for etcd (granting the lease, writing the
   * record, retried with backoff) until it succeeds or this aborts. Once registered, the instance
   * stays until deregister() or the client's close(), whatever becomes of the signal.
   */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /**
   * `'shared'`: the record lives on the client's shared lease (one per client and TTL, with its
   * locks and elections: see `clientSessions()`), and deregister() deletes it. `'own'`: a lease of
   * its own, revoked on deregister() (one lease per instance, as Kratos and go-zero register; its
   * keepalives still travel on the client's one LeaseKeepAlive stream). Default `'shared'`.
   */
  lease?: 'shared' | 'own';
  /**
   * Registry layouts to publish in besides coord's own, so Go services find this instance:
   * `'grpc-go'` (etcd naming/endpoints, key `<name>/<host:port>`), `'kratos'`, `'go-zero'`. Their
   * keys live under the same supervised lease and are written in the same txn as coord's record;
   * while the instance is draining they are removed (Go clients do not know coord's `draining`).
   * An unknown name is an invalid-argument error. Default: coord's own only.
   */
  formats?: Array<'coord' | RegistryFormatName>;
}

/**
 * A live registration. The key lives under a supervised lease, by default the one the client
 * shares between all its registrations, locks and elections: if the lease is lost (etcd down
 * longer than the TTL, restarted, or a network cut) a new lease is granted as soon as etcd answers
 * and every key on it is written again — forever, until deregister().
 */
export class Registration {
  // A client may hold thousands of registrations: what most of them never use (listeners, conflict
  // bookkeeping, foreign formats' keys) is created on first use, and the supervisor and the
  // registration watch call this object's methods instead of holding closures (docs/scale.md).
  private lostEmitter: Emitter<CoordError> | undefined;
  private registeredEmitter: Emitter<{ lease: string; revision: number }> | undefined;
  private errorEmitter: Emitter<LoopFailure & { during: 'lease' | 'write' }> | undefined;
  private conflictEmitter: Emitter<ForeignKeyConflict> | undefined;
  private closedEmitter: Emitter<void> | undefined;
  /** The registration's lease was lost; the instance is not listed until re-registered. */
  get onLost(): Emitter<CoordError>['on'] {
    return (this.lostEmitter ??= new Emitter()).on;
  }
  /** The instance was (re-)written under a live lease. */
  get onRegistered(): Emitter<{ lease: string; revision: number }>['on'] {
    return (this.registeredEmitter ??= new Emitter()).on;
  }
  /**
   * Keeping the registration failed once: granting a new lease, or writing the record under it
   * (a permission error counts too). Both are retried with backoff until deregister().
   */
  get onError(): Emitter<LoopFailure & { during: 'lease' | 'write' }>['on'] {
    return (this.errorEmitter ??= new Emitter()).on;
  }
  /**
   * A foreign-format key this registration wrote was already held under another lease: another
   * instance publishes the same key (for grpc-go, the same `<name>/<host:port>`). Go clients then
   * see one endpoint, removed when the lease of whoever wrote it last ends. Reported once per key
   * and other lease, with a log line.
   */
  get onConflict(): Emitter<ForeignKeyConflict>['on'] {
    return (this.conflictEmitter ??= new Emitter()).on;
  }
  /** deregister() was called (directly, or by the owning client's close()). */
  get onClosed(): Emitter<void>['on'] {
    return (this.closedEmitter ??= new Emitter()).on;
  }
  private conflictsSeen: ForeignKeyConflict[] | undefined;
  /**
   * Every conflict reported so far, oldest first: one found by the first write can be reported
   * before a listener added after register() returns.
   */
  conflicts(): readonly ForeignKeyConflict[] {
    return [...(this.conflictsSeen ?? [])];
  }
  private readonly closer = new AbortController();
  readonly key: string;
  private instance: ServiceInstance;
  private closed = false;
  /** The first write succeeded: register() resolved, and lease changes are this registration's to follow. */
  private registered = false;
  private writing: Promise<void> = Promise.resolve();
  /** Revision of this client's latest write of the record; older or equal events are its own. */
  private lastOwnRevision = 0;
  /** The lease of the latest write: deregister() deletes only keys still held under it. */
  private writtenLease: string | undefined;
  /** Every lease this registration wrote under (kept with foreign formats only): a foreign key held by one of them is not a conflict. */
  private ownLeases: Set<string> | undefined;
  /** `<key> <other lease>` pairs already reported, so a conflict is logged once, not on every write. */
  private reported: Set<string> | undefined;
  private readonly ownKeys: RegistrationWatch;
  private readonly batcher: WriteBatcher;

  private constructor(
    private readonly client: EtcdClient,
    ns: string,
    instance: ServiceInstance,
    private readonly supervisor: SessionSupervisor,
    /** The supervisor is this registration's alone (`lease: 'own'`): closing it revokes the lease. */
    private readonly ownLease: boolean,
    private readonly log: (line: string) => void,
    private readonly formats: RegistryFormat[] = [],
  ) {
    this.instance = { ...instance };
    this.ownKeys = registrationWatch(client, ns, log);
    this.batcher = writeBatcher(client, log);
    this.key = serviceKey(ns, instance.name, instance.id);
    this.servicePrefix = serviceKey(ns, instance.name);
  }

  /** `<ns>services/<name>/`: where the other coord instances of this service are. */
  private readonly servicePrefix: string;

  static create(client: EtcdClient, ns: string, instance: ServiceInstance, options: RegisterOptions = {}): Promise<Registration> {
    return traced('coord.registry.register', spanAttributes(instance), () => Registration.start(client, ns, instance, options));
  }

  private static async start(client: EtcdClient, ns: string, instance: ServiceInstance, options: RegisterOptions): Promise<Registration> {
    if (!instance.name || !instance.id || /\//.test(instance.name) || /\//.test(instance.id)) {
      throw new CoordError('invalid-argument', `service name and id must be non-empty and contain no '/': got name=${JSON.stringify(instance.name)} id=${JSON.stringify(instance.id)}`);
    }
    if (options.lease !== undefined && options.lease !== 'shared' && options.lease !== 'own') {
      throw new CoordError('invalid-argument', `lease must be 'shared' or 'own', got ${JSON.stringify(options.lease)}`);
    }
    const formats = resolveFormats(options.formats);
    const log = options.log ?? (() => {});
    const ttl = options.ttl ?? 10;
    const own = options.lease === 'own';
    const supervisor = own ? new SessionSupervisor(client, { ttl, log }) : clientSessions(client, { log }).supervisor(ttl);
    const reg = new Registration(client, ns, instance, supervisor, own, log, formats);
    supervisor.follow(reg);
    reg.ownKeys.add(reg.key, reg);
    const stop = options.signal ? AbortSignal.any([options.signal, reg.closer.signal]) : reg.closer.signal;
    try {
      await retryUntilClosed(
        async () => {
          const s = await supervisor.session(stop);
          await reg.write(s, true);
        },
        {
          signal: stop,
          onFailure: (f) => {
            // A late first keepalive (a lost lease) is retried on the next one; a refusal is the caller's to hear.
            if (!f.error.recoverable && f.error.code !== 'lease-lost' && f.error.code !== 'lease-not-found') throw f.error;
            reg.failed({ ...f, during: 'write' });
          },
        },
      );
    } catch (e) {
      // register() failed, so nothing may stay behind: not the record, not a lease of its own.
      await reg.deregister();
      throw options.signal?.aborted ? abortError(options.signal, `register ${reg.key}`) : e;
    }
    reg.registered = true;
    // The lease may have changed between the write and now, its new session announced before this
    // registration listened for it: write again under the current one (or the next, when granted).
    const cur = supervisor.current;
    if (cur && cur.lease !== reg.writtenLease) void reg.reregister(cur);
    reg.ownKeys.follow(reg.lastOwnRevision);
    return reg;
  }

  // The supervisor's lease, followed (SessionFollower): its loss is reported, each new lease gets the record again.
  /** @internal */
  sessionLost(err: CoordError): void {
    if (!this.registered || this.closed) return;
    // A shared lease's loss is logged once, by the client's sessions, not once per instance.
    if (this.ownLease) this.log(`registry: ${this.key} lost its lease (${err.message}); will re-register when etcd answers`);
    tracedEvent('coord.registry.lost', spanAttributes(this.instance), () => this.lostEmitter?.emit(err), err.message);
  }

  /** @internal */
  sessionStarted(s: Session): void {
    if (this.registered && !this.closed) void this.reregister(s);
  }

  /** @internal */
  sessionFailed(f: LoopFailure): void {
    if (this.registered && !this.closed) this.failed({ ...f, during: 'lease' });
  }

  /** Writes the record under a new lease, whatever it takes, until that lease is lost or deregister(). */
  private async reregister(s: Session): Promise<void> {
    const signal = AbortSignal.any([this.closer.signal, s.signal]);
    await traced('coord.registry.reregister', spanAttributes(this.instance), () =>
      retryUntilClosed(() => this.write(s, true), { signal, onFailure: (f) => this.failed({ ...f, during: 'write' }) }),
    ).then(
      () => this.ownLease && !this.closed && !s.lost && this.log(`registry: ${this.key} re-registered under lease ${s.leaseHex}`),
      // Closed, or the lease went too: the next session re-registers.
      () => {},
    );
  }

  private failed(f: LoopFailure & { during: 'lease' | 'write' }): void {
    const what = f.during === 'lease' ? 'granting a lease' : `writing ${this.key}`;
    // A shared lease's grant failures are logged once, by the client's sessions.
    if (f.during === 'write' || this.ownLease) {
      this.log(`registry: ${this.instance.name}/${this.instance.id}: ${what} failed (${f.error.message}); attempt ${f.failures}, retrying in ${f.retryInMs} ms`);
    }
    tracedEvent('coord.registry.error', spanAttributes(this.instance), () => this.errorEmitter?.emit(f), f.error.message);
  }

  /**
   * Adopts status and metadata that someone else wrote to this instance's record (the dashboard's
   * drain or weight change, `patchInstance`), so the owner's next write — an update or a
   * re-registration after a lease loss — keeps them instead of silently undoing them. Puts come
   * from the client's one watch over its registrations (`RegistrationWatch`).
   * @internal
   */
  outsidePut(kv: KeyValue): void {
    // Let this client's own writes that were in flight answer first, so their revisions are known.
    // Only ordering: a failed write is reported by the writer itself (failed(): log line + onError).
    void this.writing.catch(() => {}).then(() => {
      if (this.closed || kv.modRevision <= this.lastOwnRevision) return;
      const seen = decodeInstance(kv.value);
      if (typeof seen === 'string' || seen.id !== this.instance.id || seen.name !== this.instance.name) return;
      const statusChanged = (seen.status ?? 'serving') !== (this.instance.status ?? 'serving');
      if (!statusChanged && JSON.stringify(seen.metadata ?? {}) === JSON.stringify(this.instance.metadata ?? {})) return;
      const what = statusChanged ? `status ${this.instance.status ?? 'serving'} -> ${seen.status ?? 'serving'}` : 'metadata';
      this.instance = { ...this.instance, status: seen.status, metadata: seen.metadata };
      this.log(`registry: ${this.key} changed from outside (${what}); keeping it`);
    });
  }

  get current(): ServiceInstance {
    return { ...this.instance };
  }

  /** Changes status (serving/draining) live. */
  setStatus(status: 'serving' | 'draining'): Promise<void> {
    return this.update({ status });
  }

  setMetadata(metadata: ServiceInstance['metadata']): Promise<void> {
    return this.update({ metadata });
  }

  async update(patch: Partial<Omit<ServiceInstance, 'id' | 'name'>>): Promise<void> {
    this.instance = { ...this.instance, ...patch };
    // Without a live lease the next one writes the patched record (re-registration).
    const s = this.supervisor.current;
    if (s && this.registered) await this.write(s);
  }

  /**
   * Writes the instance under the session's lease; retries transient failures while the session is
   * alive. With `once`, one attempt: the caller (register, re-registration) retries every kind of
   * failure, a lease lost before the write included.
   */
  private write(s: Session, once = false): Promise<void> {
    const run = async () => {
      if (once && s.lost && !this.closed) throw abortError(s.signal, `writing ${this.key}`);
      for (let attempt = 0; !this.closed && !s.lost; attempt++) {
        try {
          const { ops, foreignKeys, foreignPuts } = this.writeOps(s.lease);
          if (this.formats.length > 0) (this.ownLeases ??= new Set()).add(s.lease);
          // With the other registrations' writes of this tick under the same lease: one txn for up to 128 operations.
          const { revision, responses } = await this.batcher.txn(ops, s.signal);
          this.foreignKeys = foreignKeys;
          for (const [i, f] of foreignPuts) this.checkConflict(f, responses[i]?.prevKv, s.lease);
          this.lastOwnRevision = Math.max(this.lastOwnRevision, revision);
          this.writtenLease = s.lease;
          this.registeredEmitter?.emit({ lease: s.lease, revision });
          return;
        } catch (e) {
          const err = e as CoordError;
          if (once || (!err.recoverable && err.code !== 'lease-not-found')) throw err;
          await new Promise((r) => setTimeout(r, Math.min(500, 100 * 2 ** attempt)));
        }
      }
    };
    this.writing = this.writing.then(run, run);
    return this.writing;
  }

  /** Foreign keys written last, so a changed address or a drain deletes the ones no longer wanted. */
  private foreignKeys: Set<string> | undefined;

  /** coord's record plus the foreign formats' keys (deleted while draining), as one txn's operations. */
  private writeOps(lease: string): { ops: ReturnType<typeof op.put>[]; foreignKeys: Set<string> | undefined; foreignPuts: Array<[number, RegistryFormat]> } {
    const ops = [op.put(this.key, encodeInstance(this.instance), { lease })];
    if (this.formats.length === 0 && !this.foreignKeys) return { ops, foreignKeys: undefined, foreignPuts: [] };
    const wanted = new Set<string>();
    // Index in `ops` of each foreign put; its prevKv tells whether another lease held the key.
    const foreignPuts: Array<[number, RegistryFormat]> = [];
    if ((this.instance.status ?? 'serving') !== 'draining') {
      for (const f of this.formats) {
        const key = f.key(this.instance, lease);
        wanted.add(key);
        foreignPuts.push([ops.length, f]);
        ops.push(op.put(key, f.value(this.instance), { lease, prevKv: true }));
      }
    }
    for (const key of this.foreignKeys ?? []) if (!wanted.has(key)) ops.push(op.delete(key));
    return { ops, foreignKeys: wanted.size > 0 ? wanted : undefined, foreignPuts };
  }

  /**
   * Called after each write with the value a foreign put replaced: held under a lease that is not
   * this registration's (another instance's, or none: a publisher without a lease), it is a
   * conflict — two instances publish the same foreign key.
   */
  private checkConflict(format: RegistryFormat, prev: KeyValue | undefined, lease: string): void {
    if (!prev || this.ownLeases?.has(prev.lease)) return;
    const seen = `${prev.key} ${prev.lease}`;
    this.reported ??= new Set();
    if (this.reported.has(seen)) return;
    this.reported.add(seen);
    void this.reportConflict(format, prev, lease);
  }

  private async reportConflict(format: RegistryFormat, prev: KeyValue, lease: string): Promise<void> {
    // Name the other instance when it is a coord registration of this service (same lease).
    let otherInstance: string | undefined;
    if (prev.lease !== '0') {
      try {
        const { kvs } = await this.client.range(this.servicePrefix, { prefix: true, signal: this.closer.signal });
        const other = kvs.find((kv) => kv.lease === prev.lease);
        if (other) otherInstance = `${this.instance.name}/${other.key.slice(this.servicePrefix.length)}`;
      } catch {
        // only for the message: the conflict is reported either way
      }
    }
    const hex = (l: string) => (l === '0' ? 'no lease' : `lease ${BigInt(l).toString(16)}`);
    const conflict: ForeignKeyConflict = {
      format: format.name,
      key: prev.key,
      lease: BigInt(lease).toString(16),
      otherLease: prev.lease === '0' ? null : BigInt(prev.lease).toString(16),
      ...(otherInstance ? { otherInstance } : {}),
    };
    const other = otherInstance ? `coord instance ${otherInstance} (${hex(prev.lease)})` : `another publisher (${hex(prev.lease)}${prev.lease === '0' ? '' : ', not a coord instance of this service'})`;
    const message = `${format.name} key ${prev.key} is published by two instances: ${other} and ${this.instance.name}/${this.instance.id} (${hex(lease)}), which wrote it now; Go clients see one endpoint, removed when the lease of whichever wrote it last ends`;
    this.log(`registry: ${message}`);
    (this.conflictsSeen ??= []).push(conflict);
    tracedEvent('coord.registry.conflict', { ...spanAttributes(this.instance), 'coord.registry.format': format.name, 'coord.registry.key': prev.key }, () => this.conflictEmitter?.emit(conflict), message);
  }

  /**
   * Removes the instance and stops re-registering: deletes its keys from the shared lease (only
   * those still held under it, retried until done or the lease is gone), or revokes its own lease.
   */
  deregister(): Promise<void> {
    return this.end(true);
  }

  /**
   * Stops as deregister() does but leaves a shared lease's keys to its revoke: the owning client's
   * close() revokes its shared leases next, which removes every key at once. Not for other callers.
   * @internal
   */
  closeWithClient(): Promise<void> {
    return this.end(false);
  }

  private async end(deleteShared: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closedEmitter?.emit();
    this.closer.abort(new CoordError('closed', `registration ${this.key} closed`));
    this.supervisor.unfollow(this);
    this.ownKeys.remove(this.key, this);
    await traced('coord.registry.deregister', spanAttributes(this.instance), async () => {
      if (this.ownLease) return this.supervisor.close();
      // A write in flight finishes first, so no key is put back after its delete. Its failure was reported by its caller.
      await this.writing.catch(() => {});
      if (deleteShared) await this.deleteKeys();
    });
  }

  private async deleteKeys(): Promise<void> {
    const s = this.supervisor.current;
    const lease = this.writtenLease;
    // Written under a lease that is gone: the keys went with it.
    if (!s || s.lost || lease === undefined || s.lease !== lease) return;
    const keys = [this.key, ...(this.foreignKeys ?? [])];
    await retryUntilClosed(
      () => Promise.all(keys.map((key) => this.client.txn({ compare: [compare.lease(key, '=', lease)], success: [op.delete(key)] }, { signal: s.signal }))),
      {
        signal: s.signal,
        onFailure: (f) => {
          this.log(`registry: deregistering ${this.key}: delete failed (${f.error.message}); attempt ${f.failures}, retrying in ${f.retryInMs} ms`);
          tracedEvent('coord.registry.error', spanAttributes(this.instance), () => this.errorEmitter?.emit({ ...f, during: 'write' }), f.error.message);
        },
      },
    ).catch((e: unknown) => {
      // The lease went meanwhile (its keys with it) or the client closed (it revokes its leases).
      if (!s.lost && !isCoordError(e, 'closed')) throw e;
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.deregister();
  }
}

/** Two instances publish the same foreign key (Registration.onConflict). Leases in lowercase hex. */
export interface ForeignKeyConflict {
  format: RegistryFormatName;
  key: string;
  /** This registration's lease, which now holds the key. */
  lease: string;
  /** The lease the key was held under before; null when it had none. */
  otherLease: string | null;
  /** `<name>/<id>` of the coord instance holding `otherLease`, when it is one of this service. */
  otherInstance?: string;
}

function spanAttributes(instance: ServiceInstance): { 'coord.service.name': string; 'coord.service.instance_id': string } {
  return { 'coord.service.name': instance.name, 'coord.service.instance_id': instance.id };
}
