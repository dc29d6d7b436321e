// The application lifecycle in one place, as Kratos' app.Run: start the client, servers and
// background jobs; on SIGTERM/SIGINT (or stop()) take everything down in an order that loses
// nothing and hands what this instance holds to the others at once rather than at lease expiry:
//   1. beforeStop hooks;
//   2. together: servers drain (registry `draining`, health NOT_SERVING, refuse new calls, finish
//      in-flight ones, deregister) — and jobs and leader tasks are told to stop (their signal
//      aborts): leader tasks resign, withLock() bodies return and release their locks. Leadership
//      and locks do not wait behind the servers' drain delay: nothing routes requests by them;
//   3. the client closes: leader tasks left resign, registrations left deregister, the leases of
//      locks, permits and candidacies are revoked, watches end;
//   4. afterStop hooks; then, after a signal, the process exits (0, or 1 if a step failed or the
//      grace period ran out).
// Everything after the signal is bounded by `graceMs`; a second signal cuts the drains short.
import type { Coord } from '../coord.ts';
import { CoordError, isCoordError } from '../core/errors.ts';
import type { Disposable } from '../core/events.ts';
import type { LeaderTask, LeaderTaskOptions, LeaderWork } from '../election/leader-task.ts';
import { serve } from '../grpc/serve.ts';
import type { ServeOptions } from '../grpc/serve-options.ts';
import type { CoordServer } from '../grpc/server-handle.ts';
import { handleSignals, type SignalTarget } from '../grpc/server-signals.ts';

/** A hook: one function or several, run in order; a failing one is logged and the others still run. */
export type Hook = () => unknown | Promise<unknown>;

/** Options for {@link createApp}; defaults in each field's doc. */
export interface AppOptions {
  /** Names the app in its log lines. Default `app`. */
  name?: string;
  /** The client; closed last (resigns, releases, deregisters, revokes). Default: none. */
  coord?: Coord;
  /** gRPC servers to start, as serve() takes them; the app supplies `coord` and handles signals. Default none. */
  servers?: Array<Omit<ServeOptions, 'coord' | 'signals' | 'exitOnSignal'>>;
  /** Bound on the whole shutdown after a signal or stop(). Default 15000 ms. */
  graceMs?: number;
  /** Signals that stop the app; `false` to call stop() yourself. Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[] | false;
  /** Exit the process once stopped by a signal. Default true. */
  exitOnSignal?: boolean;
  /** Run before anything starts (after a failure here nothing starts). */
  beforeStart?: Hook | Hook[];
  /** Run once servers serve and jobs run. */
  afterStart?: Hook | Hook[];
  /** Run first when stopping, while everything still works. */
  beforeStop?: Hook | Hook[];
  /** Run last, after the client closed. */
  afterStop?: Hook | Hook[];
  /** Where the app's lines go. Default: stderr. */
  log?: (line: string) => void;
}

/** A background job: runs until `signal` aborts (the app stops), then returns. */
export type Job = (signal: AbortSignal) => Promise<void>;

interface JobEntry {
  name: string;
  start(signal: AbortSignal): Promise<void>;
}

/**
 * One object for a service's whole life. Build it, add jobs and leader tasks, then `run()`:
 *
 * ```ts
 * const app = createApp({ coord, servers: [{ name: 'greeter', services: [[def, impl]] }] })
 *   .leaderTask('outbox-relay', async (signal) => { while (!signal.aborted) await relay(signal); })
 *   .job('cleanup', async (signal) => coord.withLock('cleanup', (s) => cleanUp(s), { signal }));
 * await app.run(); // resolves once stopped (a signal exits the process after the shutdown)
 * ```
 */
export class App implements SignalTarget {
  readonly log: (line: string) => void;
  readonly exitOnSignal: boolean;
  private readonly o: AppOptions;
  private readonly jobs: JobEntry[] = [];
  private readonly stopping = new AbortController();
  private readonly hurried = new AbortController();
  private running: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  private started: Promise<void> | undefined;
  private jobsDone: Promise<unknown> = Promise.resolve();
  private readonly tasks: LeaderTask[] = [];
  private signalSubscription: Disposable | undefined;
  private failed = false;
  /** The servers, once started. */
  readonly servers: CoordServer[] = [];

  constructor(options: AppOptions = {}) {
    this.o = options;
    const name = options.name ?? 'app';
    const out = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.log = (line) => out(`${name}: ${line}`);
    this.exitOnSignal = options.exitOnSignal ?? true;
    const graceMs = options.graceMs ?? 15_000;
    if (!(graceMs >= 0)) throw new CoordError('invalid-argument', `app: graceMs must be >= 0, got ${graceMs}`);
  }

  /** Aborts when the app starts stopping: hand it to long-running work of your own. */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  /** Adds a background job, started after the servers and stopped (its signal aborted, then awaited) on shutdown. */
  job(name: string, fn: Job): this {
    this.jobs.push({ name, start: (signal) => fn(signal) });
    return this;
  }

  /** Adds a leader task (see `Coord.leaderTask`): campaigns once the app runs, resigns on shutdown. Needs `coord`. */
  leaderTask(name: string, fn: LeaderWork, options: Omit<LeaderTaskOptions, 'signal'> = {}): this {
    const coord = this.coord('leaderTask');
    this.jobs.push({
      name: `leader task ${name}`,
      start: async (signal) => {
        const task = coord.leaderTask(name, fn, { ...options, signal });
        this.tasks.push(task);
        await task.done;
      },
    });
    return this;
  }

  /** Leader tasks as started (their `leading`, `onElected`). */
  get leaderTasks(): readonly LeaderTask[] {
    return this.tasks;
  }

  private coord(what: string): Coord {
    if (!this.o.coord) throw new CoordError('invalid-argument', `app: ${what} needs the coord option`);
    return this.o.coord;
  }

  /** Starts everything and resolves with the app started (servers serving, jobs running). */
  start(): Promise<void> {
    this.started ??= this.startAll();
    return this.started;
  }

  /** Starts (if not yet) and resolves once the app has stopped — by a signal, stop(), or a failed start. */
  run(): Promise<void> {
    this.running ??= (async () => {
      await this.start();
      await new Promise<void>((resolve) => this.stopping.signal.addEventListener('abort', () => resolve(), { once: true }));
      await this.stopped;
    })();
    return this.running;
  }

  private async startAll(): Promise<void> {
    if (this.o.signals !== false) this.signalSubscription = handleSignals(this, this.o.signals ?? ['SIGTERM', 'SIGINT']);
    try {
      await this.hooks('beforeStart', this.o.beforeStart, true);
      for (const s of this.o.servers ?? []) {
        if (this.stopping.signal.aborted) break;
        this.servers.push(await serve({ ...s, coord: this.o.coord, signals: false, exitOnSignal: false, signal: this.stopping.signal }));
      }
      const signal = this.stopping.signal;
      this.jobsDone = Promise.allSettled(
        this.jobs.map(async (j) => {
          try {
            await j.start(signal);
          } catch (e) {
            if (signal.aborted && isCoordError(e) && (e.code === 'aborted' || e.code === 'closed')) return;
            this.failed = true;
            this.log(`job ${j.name} failed: ${describe(e)}`);
          }
        }),
      );
      await this.hooks('afterStart', this.o.afterStart);
      this.log(`started: ${this.servers.map((s) => `${s.instance.name} on ${s.endpoint}`).join(', ') || 'no servers'}; ${this.jobs.length} job(s)`);
    } catch (e) {
      this.log(`start failed: ${describe(e)}; stopping`);
      this.failed = true;
      await this.stop();
      throw e;
    }
  }

  /** Stops the app (the steps above); every call returns the same promise. */
  close(): Promise<void> {
    return this.stop();
  }

  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  /** A second signal: cut the servers' drains short. */
  hurry(): void {
    this.hurried.abort();
    for (const s of this.servers) void s.close({ drainDelayMs: 0, graceMs: 0 });
  }

  private async shutdown(): Promise<void> {
    const graceMs = this.o.graceMs ?? 15_000;
    const startedAt = performance.now();
    const over = AbortSignal.timeout(graceMs);
    const step = async (what: string, work: () => Promise<unknown>) => {
      const done = work().then(
        () => true,
        (e: unknown) => {
          this.failed = true;
          this.log(`${what} failed: ${describe(e)}`);
          return true;
        },
      );
      const late = new Promise<false>((resolve) => {
        if (over.aborted) resolve(false);
        else over.addEventListener('abort', () => resolve(false), { once: true });
      });
      if (!(await Promise.race([done, late]))) {
        this.failed = true;
        this.log(`${what}: not done when the grace period (${graceMs} ms) ran out; going on`);
      }
    };
    this.log('stopping');
    await step('beforeStop hooks', () => this.hooks('beforeStop', this.o.beforeStop));
    this.stopping.abort(new CoordError('closed', 'app stopping'));
    await step('stopping servers, jobs and leader tasks', () => Promise.all([Promise.all(this.servers.map((s) => s.close())), this.jobsDone]));
    if (this.o.coord) await step('closing the client (resign, release, deregister, revoke)', () => this.o.coord!.close());
    await step('afterStop hooks', () => this.hooks('afterStop', this.o.afterStop));
    this.signalSubscription?.dispose();
    this.log(`stopped in ${Math.round(performance.now() - startedAt)} ms`);
    if (this.failed) throw new CoordError('internal', 'app: a step failed while stopping (see the log)');
  }

  private async hooks(which: string, hooks: Hook | Hook[] | undefined, rethrow = false): Promise<void> {
    for (const h of hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]) {
      try {
        await h();
      } catch (e) {
        if (rethrow) throw e;
        this.failed = true;
        this.log(`${which} hook failed: ${describe(e)}`);
      }
    }
  }
}

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Builds an {@link App}; nothing starts until `run()` or `start()`. */
export function createApp(options: AppOptions = {}): App {
  return new App(options);
}
