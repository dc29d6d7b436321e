// What a served process counts about its calls: in flight (graceful shutdown waits on it), and
// every call refused before reaching its handler, by reason — for metrics and for tests.
import { Emitter } from '../core/events.ts';
import type { LoadShedderStats } from '../resilience/load-shedder.ts';

/** Why a call was refused before its handler ran. */
export type RejectReason = 'shed' | 'rate-limit' | 'deadline';

/** A call the server refused before its handler ran, and why. */
export interface RejectEvent {
  /** Full method path, `/package.Service/Method`. */
  method: string;
  reason: RejectReason;
}

/** Counters of a server started with `serve()`, as `CoordServer.stats()` returns them. */
export interface ServerStats {
  /** Application calls (not health or reflection) started since serving began. */
  started: number;
  /** Application calls in flight now. */
  inFlight: number;
  /** Calls refused by the load shedder (RESOURCE_EXHAUSTED). */
  shed: number;
  /** Calls refused by a per-method rate limit (RESOURCE_EXHAUSTED). */
  rateLimited: number;
  /** Calls refused because their deadline had passed before the handler ran (DEADLINE_EXCEEDED). */
  deadlineExceeded: number;
  /** Handlers that threw or rejected (answered INTERNAL). */
  internalErrors: number;
  /** The load shedder's view, when shedding is on. */
  shedder?: LoadShedderStats;
}

export class ServerCounters {
  started = 0;
  inFlight = 0;
  shed = 0;
  rateLimited = 0;
  deadlineExceeded = 0;
  internalErrors = 0;
  private readonly rejectedEmitter = new Emitter<RejectEvent>();
  private readonly idleEmitter = new Emitter<void>();
  readonly onRejected = this.rejectedEmitter.on;

  callStarted(): void {
    this.started++;
    this.inFlight++;
  }

  callEnded(): void {
    if (--this.inFlight === 0) this.idleEmitter.emit();
  }

  rejected(method: string, reason: RejectReason): void {
    if (reason === 'shed') this.shed++;
    else if (reason === 'rate-limit') this.rateLimited++;
    else this.deadlineExceeded++;
    if (this.rejectedEmitter.size > 0) this.rejectedEmitter.emit({ method, reason });
  }

  /** Resolves true once no application call is in flight, or false when `signal` aborts first. */
  idle(signal: AbortSignal): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (idle: boolean) => {
        sub.dispose();
        signal.removeEventListener('abort', onAbort);
        resolve(idle);
      };
      const onAbort = () => done(false);
      const sub = this.idleEmitter.on(() => done(true));
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  snapshot(): Omit<ServerStats, 'shedder'> {
    const { started, inFlight, shed, rateLimited, deadlineExceeded, internalErrors } = this;
    return { started, inFlight, shed, rateLimited, deadlineExceeded, internalErrors };
  }
}
