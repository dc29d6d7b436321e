import { CoordError } from './core/errors.ts';
import { ConfigCenter } from './config/config-center.ts';
import { EtcdClient, type ClientOptions } from './client/etcd-client.ts';
import { hostname } from 'node:os';
import { campaign, leader, observe, type CampaignOptions, type Leader, type Leadership } from './election/election.ts';
import { LeaderTask, type LeaderTaskOptions, type LeaderWork } from './election/leader-task.ts';
import { acquireLock, type LockHandle, type LockOptions } from './lock/lock.ts';
import { withLock, type WithLockOptions } from './lock/with-lock.ts';
import { clientSessions, closeClientSessions, type ClientSessions } from './client/client-sessions.ts';
import { leaseKeeper } from './client/lease-keeper.ts';
import { closeSessionPool, sessionPool } from './lock/session-pool.ts';
import { acquirePermit, type Permit, type SemaphoreOptions } from './lock/semaphore.ts';
import { Discovery, type DiscoveryOptions } from './registry/discovery.ts';
import { Registration, type RegisterOptions } from './registry/registration.ts';
import type { ServiceInstance } from './registry/instance.ts';

/** Options for {@link connect}; defaults in each field's doc. */
export interface ConnectOptions extends ClientOptions {
  /** Prefix of every key coord writes, so several systems can share one etcd. Default `/coord/`. */
  namespace?: string;
  /** Receives one line per notable event (lease lost, re-registered, malformed record…). Default: none. */
  log?: (line: string) => void;
}

/** The coord client: every primitive over one etcd connection. */
export class Coord {
  readonly etcd: EtcdClient;
  readonly namespace: string;
  /** The config center: namespaced, versioned config with history, rollback and gray release. */
  readonly config: ConfigCenter;
  private readonly log: (line: string) => void;
  private readonly owned = new Set<{ close(): unknown }>();
  /** Live registrations: close() deregisters them (their lease loops need the client). */
  private readonly registrations = new Set<Registration>();
  /** Running leader tasks: close() stops them first (each resigns). */
  private readonly leaderTasks = new Set<LeaderTask>();

  constructor(options: ConnectOptions = {}) {
    const ns = options.namespace ?? '/coord/';
    if (!ns) throw new CoordError('invalid-argument', 'namespace must not be empty');
    this.namespace = ns.endsWith('/') ? ns : `${ns}/`;
    this.etcd = new EtcdClient(options);
    this.log = options.log ?? (() => {});
    this.config = new ConfigCenter(this.etcd, this.namespace, { log: this.log });
    this.owned.add(this.config);
    this.sessions = clientSessions(this.etcd, { log: this.log });
    sessionPool(this.etcd, { log: this.log });
  }

  /**
   * The leases this client shares between its registrations, locks, permits and candidacies: one
   * per TTL in use, kept alive on one LeaseKeepAlive stream and re-acquired after a loss.
   */
  readonly sessions: ClientSessions;

  /** Leases this client keeps alive right now (shared, pooled and per-registration ones). */
  get leasesKept(): number {
    return leaseKeeper(this.etcd).size;
  }

  /**
   * Registers an instance under the client's shared lease (or its own with `lease: 'own'`),
   * re-registered automatically after any loss. `options.signal` bounds the registering only.
   */
  register(instance: ServiceInstance, options: RegisterOptions = {}): Promise<Registration> {
    return Registration.create(this.etcd, this.namespace, instance, { log: this.log, ...options }).then((r) => {
      this.registrations.add(r);
      r.onClosed(() => this.registrations.delete(r));
      return r;
    });
  }

  /** A live, self-healing view of a service's instances. Close it when done. */
  discover(name: string, options: DiscoveryOptions = {}): Discovery {
    const d = new Discovery(this.etcd, this.namespace, name, { log: this.log, ...options });
    this.owned.add(d);
    return d;
  }

  /** A one-off list of a service's instances. */
  async instances(name: string): Promise<ServiceInstance[]> {
    const d = new Discovery(this.etcd, this.namespace, name, { log: this.log });
    try {
      await d.ready;
      return d.snapshot().instances;
    } finally {
      d.close();
    }
  }

  /**
   * Blocks until the lock is held (FIFO). etcd `concurrency.Mutex` compatible. While etcd is
   * unreachable it waits and retries (one log line per outage), bounded only by `signal`.
   */
  async lock(name: string, options: LockOptions = {}): Promise<LockHandle> {
    return (await acquireLock(this.etcd, this.lockPrefix(name), name, options, false, { log: this.log }))!;
  }

  /**
   * Takes lock `name`, runs `fn(signal, lock)` — `signal` aborts when the lock is lost or
   * `options.signal` fires — and releases the lock when `fn` settles. Resolves with `fn`'s result;
   * rejects with the loss if the lock was lost while `fn` ran.
   *
   * ```ts
   * await coord.withLock('nightly-report', async (signal) => buildReport({ signal }), { signal: AbortSignal.timeout(60_000) });
   * ```
   */
  withLock<T>(name: string, fn: (signal: AbortSignal, lock: LockHandle) => Promise<T>, options: WithLockOptions = {}): Promise<T> {
    return withLock((o) => this.lock(name, o), fn, options);
  }

  /**
   * Runs `fn` on exactly one instance at a time: campaigns for `name`, runs `fn(signal, leadership)`
   * while leader (`signal` aborts on loss), campaigns again after a loss, and resigns on close() of
   * the task or of this client. Returns at once; `task.onElected`, `task.leading` tell the state.
   *
   * ```ts
   * const relay = coord.leaderTask('outbox-relay', async (signal) => { while (!signal.aborted) await relayOnce(signal); });
   * ```
   */
  leaderTask(name: string, fn: LeaderWork, options: LeaderTaskOptions = {}): LeaderTask {
    const task = new LeaderTask((value, o) => this.campaign(name, value, o), name, fn, { defaultValue: `${hostname()}-${process.pid}`, log: this.log, ...options });
    this.leaderTasks.add(task);
    void task.done.finally(() => this.leaderTasks.delete(task));
    return task;
  }

  /** Takes the lock only if free right now; undefined otherwise. */
  tryLock(name: string, options: Omit<LockOptions, 'signal'> = {}): Promise<LockHandle | undefined> {
    return acquireLock(this.etcd, this.lockPrefix(name), name, options, true);
  }

  /** Blocks until one of `permits` permits of semaphore `name` is held (FIFO). */
  semaphore(name: string, permits: number, options: SemaphoreOptions = {}): Promise<Permit> {
    return acquirePermit(this.etcd, `${this.namespace}semaphores/${checkName(name)}`, name, permits, options);
  }

  /** Blocks until elected leader of `name`. etcd `concurrency.Election` compatible. Waits out an unreachable etcd, bounded by `signal`. */
  campaign(name: string, value: string, options: CampaignOptions = {}): Promise<Leadership> {
    return campaign(this.etcd, this.electionPrefix(name), name, value, options, this.log);
  }

  leader(name: string, signal?: AbortSignal): Promise<Leader | undefined> {
    return leader(this.etcd, this.electionPrefix(name), signal);
  }

  /** Leaders of `name` as they change; ends when `signal` aborts. */
  observe(name: string, signal: AbortSignal): AsyncGenerator<Leader | undefined> {
    return observe(this.etcd, this.electionPrefix(name), signal, this.log);
  }

  lockPrefix(name: string): string {
    return `${this.namespace}locks/${checkName(name)}`;
  }

  electionPrefix(name: string): string {
    return `${this.namespace}elections/${checkName(name)}`;
  }

  /**
   * Closes every watch and discovery of this client, revokes the leases its registrations, locks,
   * permits and candidacies used (at most 2 s each step: with etcd unreachable they expire within
   * their TTL), and closes the connection. Held locks and leadership end with it.
   */
  async close(): Promise<void> {
    // Leader tasks first: each aborts its work and resigns while the client still works.
    const resigned = Promise.allSettled([...this.leaderTasks].map((t) => t.close()));
    await Promise.race([resigned, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    // Then registrations, while the client still works: their leases are revoked, so the
    // instances leave discovery now rather than at lease expiry. Bounded, as etcd may be unreachable.
    const stopped = Promise.allSettled([...this.registrations].map((r) => r.closeWithClient()));
    await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    for (const o of this.owned) o.close();
    try {
      await closeSessionPool(this.etcd, 2000);
      await closeClientSessions(this.etcd, 2000);
    } finally {
      this.etcd.close();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function checkName(name: string): string {
  if (!name || name.includes('\0')) throw new CoordError('invalid-argument', `invalid name ${JSON.stringify(name)}`);
  return name;
}

/** Connects to etcd (or coord store). Nothing is sent until the first call. */
export function connect(options: ConnectOptions = {}): Coord {
  return new Coord(options);
}
