// A served process's handle, and its shutdown. The order is what makes a deploy lose nothing:
//   1. announce: registry status `draining` and health NOT_SERVING (clients stop picking us);
//   2. keep serving for `drainDelayMs`, for clients that have not heard yet;
//   3. refuse new calls (GOAWAY on every connection, listener closed);
//   4. let in-flight calls finish, for up to `graceMs` (a second signal cuts this short);
//   5. end what is left with UNAVAILABLE (calls past the grace period, health Watch and
//      reflection streams), deregister (revoke the lease), and let the connections close once
//      every answer is written; connections a client still holds open after that are cut.
import * as grpc from '@grpc/grpc-js';
import { sleep } from '../core/backoff.ts';
import { CoordError } from '../core/errors.ts';
import type { Disposable } from '../core/events.ts';
import type { ServiceInstance } from '../registry/instance.ts';
import type { Registration } from '../registry/registration.ts';
import type { LoadShedder } from '../resilience/load-shedder.ts';
import type { LiveCalls } from './interceptor-server-call-tracking.ts';
import type { ResolvedServeOptions } from './serve-options.ts';
import { describeError } from './server-handlers.ts';
import type { HealthStatus, ServerHealth } from './server-health.ts';
import { handleSignals, type SignalTarget } from './server-signals.ts';
import type { RejectEvent, ServerCounters, ServerStats } from './server-stats.ts';

/** Clients being closed before exit, so servers sharing one close it once. */
const releasing = new WeakMap<object, Promise<void>>();

/** How long connections get to close by themselves once every call is answered (trailers written, client gone). */
const CONNECTION_CLOSE_MS = 2000;

/** Overrides for one close(). */
export interface CloseOptions {
  /** Default: the server's `drainDelayMs`. */
  drainDelayMs?: number;
  /** Default: the server's `graceMs`. */
  graceMs?: number;
}

/** A running server from serve(). */
export interface CoordServer extends AsyncDisposable {
  /** The underlying grpc-js server. */
  readonly server: grpc.Server;
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  /** `host:port` as bound. */
  readonly address: string;
  /** `grpc://host:port` as registered. */
  readonly endpoint: string;
  /** The instance as registered at start (`registration.current` follows later changes). */
  readonly instance: ServiceInstance;
  /** The live registration; undefined without `coord`. */
  readonly registration: Registration | undefined;
  /** Aborts when shutdown starts: long-lived streaming handlers should wind down on it. */
  readonly draining: AbortSignal;
  /** Resolves once the server has stopped, however the shutdown started. */
  readonly closed: Promise<void>;
  /** Sets a health status ('' = the whole server; default). Ignored once draining (everything is NOT_SERVING then). */
  setHealth(status: HealthStatus, service?: string): void;
  /** Counters of calls, refusals and errors; the load shedder's view when shedding is on. */
  stats(): ServerStats;
  /** A call was refused before its handler ran (shed, rate-limited, past its deadline). */
  onRejected(listener: (event: RejectEvent) => void): Disposable;
  /** Graceful shutdown (see the steps above); every call returns the same promise. */
  close(options?: CloseOptions): Promise<void>;
}

export interface ServerHandleParts {
  options: ResolvedServeOptions;
  server: grpc.Server;
  port: number;
  address: string;
  instance: ServiceInstance;
  counters: ServerCounters;
  live: LiveCalls;
  shedder: LoadShedder | undefined;
  health: ServerHealth | undefined;
}

export class ServerHandle implements CoordServer, SignalTarget {
  readonly server: grpc.Server;
  readonly port: number;
  readonly address: string;
  readonly instance: ServiceInstance;
  readonly closed: Promise<void>;
  readonly log: (line: string) => void;
  private readonly o: ResolvedServeOptions;
  private readonly counters: ServerCounters;
  private readonly live: LiveCalls;
  private readonly shedder: LoadShedder | undefined;
  private readonly health: ServerHealth | undefined;
  private readonly drainController = new AbortController();
  private readonly hurryController = new AbortController();
  private readonly startup = new AbortController();
  private registered: Registration | undefined;
  private registering: Promise<unknown> | undefined;
  private started = false;
  private closing: Promise<void> | undefined;
  private signalSubscription: Disposable | undefined;
  private resolveClosed!: () => void;

  constructor(parts: ServerHandleParts) {
    this.o = parts.options;
    this.server = parts.server;
    this.port = parts.port;
    this.address = parts.address;
    this.instance = parts.instance;
    this.counters = parts.counters;
    this.live = parts.live;
    this.shedder = parts.shedder;
    this.health = parts.health;
    const prefix = `grpc: ${this.instance.name}/${this.instance.id}`;
    this.log = (line) => this.o.log(`${prefix} ${line}`);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  get endpoint(): string {
    return this.instance.endpoints[0];
  }

  get registration(): Registration | undefined {
    return this.registered;
  }

  get draining(): AbortSignal {
    return this.drainController.signal;
  }

  get exitOnSignal(): boolean {
    return this.o.exitOnSignal;
  }

  readonly onRejected = (listener: (event: RejectEvent) => void): Disposable => this.counters.onRejected(listener);

  /** Listening already: mark healthy, take signals, register. */
  async start(): Promise<void> {
    this.health?.setAll('SERVING');
    if (this.o.signals && this.o.signals.length > 0) this.signalSubscription = handleSignals(this, this.o.signals);
    const coord = this.o.coord;
    if (coord) {
      // Aborting a register() signal after it resolved would revoke the registration (it bounds the
      // session's lifetime), so this one is aborted only while registering: by close() or `signal`.
      const onAbort = () => this.startup.abort(this.o.signal?.reason);
      this.o.signal?.addEventListener('abort', onAbort, { once: true });
      if (this.o.signal?.aborted) onAbort();
      const registering = coord.register(this.instance, { ttl: this.o.ttl, formats: this.o.formats, signal: this.startup.signal, log: this.log });
      this.registering = registering;
      try {
        this.registered = await registering;
      } catch (e) {
        await this.close({ drainDelayMs: 0, graceMs: 0 });
        throw e;
      } finally {
        this.o.signal?.removeEventListener('abort', onAbort);
        this.registering = undefined;
      }
    }
    if (this.draining.aborted) {
      // close() began while registering; it deregisters once registering settles.
      await this.closing;
      throw new CoordError('closed', `${this.instance.name}: closed while starting`);
    }
    this.started = true;
    this.log(`serving on ${this.endpoint}${coord ? ' (registered)' : ''}`);
  }

  setHealth(status: HealthStatus, service = ''): void {
    if (this.draining.aborted) return;
    this.health?.set(service, status);
  }

  stats(): ServerStats {
    return this.shedder ? { ...this.counters.snapshot(), shedder: this.shedder.stats() } : this.counters.snapshot();
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options.drainDelayMs ?? this.o.drainDelayMs, options.graceMs ?? this.o.graceMs);
    return this.closing;
  }

  hurry(): void {
    this.hurryController.abort(new CoordError('aborted', 'shutdown hurried'));
  }

  /**
   * After a signal's shutdown, before the process exits: closes the server's Coord client, so the
   * locks, leadership and leases it holds move to other instances now, not at lease expiry.
   * Several servers on one client close it once.
   */
  release(): Promise<void> {
    const coord = this.o.coord;
    if (!coord) return Promise.resolve();
    let closing = releasing.get(coord);
    if (!closing) releasing.set(coord, (closing = coord.close()));
    return closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async shutdown(drainDelayMs: number, graceMs: number): Promise<void> {
    const hurry = this.hurryController.signal;
    try {
      this.drainController.abort(new CoordError('closed', 'server draining'));
      this.health?.setAll('NOT_SERVING');
      if (this.registering) {
        this.startup.abort(new CoordError('closed', 'server closed while registering'));
        // Only waits for it to settle: a failed registration was already reported to serve()'s caller.
        await this.registering.catch(() => {});
      }
      const registration = this.registered;
      const announced = this.started && !hurry.aborted;
      if (announced) this.log(`draining: ${registration ? 'registry status draining, ' : ''}health NOT_SERVING; new calls refused in ${drainDelayMs} ms`);
      // Not awaited: with etcd unreachable it would wait until deregister() gives up on the session.
      registration?.setStatus('draining').catch((e) => this.log(`could not mark the instance draining: ${describeError(e)}`));
      // sleep() rejects only when `hurry` aborts, which is meant to cut the delay short.
      if (announced) await sleep(drainDelayMs, hurry).catch(() => {});
      const connectionsClosed = new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
      const grace = AbortSignal.any([AbortSignal.timeout(graceMs), hurry]);
      if (!(await this.counters.idle(grace))) {
        this.log(`${this.counters.inFlight} call(s) still in flight after the grace period: ending them`);
        this.live.endAll('app', { code: grpc.status.UNAVAILABLE, details: 'server shut down before the call finished' });
      }
      this.live.endAll('infra', { code: grpc.status.UNAVAILABLE, details: 'server shutting down' });
      await registration?.deregister().catch((e) => this.log(`could not deregister: ${describeError(e)}`));
      // As above: the sleep rejects only on `hurry`; forceShutdown() below ends what is left.
      await Promise.race([connectionsClosed, sleep(CONNECTION_CLOSE_MS, hurry).catch(() => {})]);
    } finally {
      this.server.forceShutdown();
      this.shedder?.close();
      this.signalSubscription?.dispose();
      if (this.started) this.log('stopped');
      this.resolveClosed();
    }
  }
}
