// Outermost interceptor: keeps every call from metadata to its end, so graceful shutdown can wait
// for application calls and then end what is left — long-lived health Watch and reflection
// streams, and calls past the grace period — with a status, rather than cutting connections
// under answers still being written. Outermost, so it sees every call and every way one ends.
import * as grpc from '@grpc/grpc-js';
import type { CallStatus } from './interceptor-server-gate.ts';
import { gateInterceptor, isInfraMethod } from './interceptor-server-gate.ts';
import type { ServerCounters } from './server-stats.ts';

/** The calls in progress, by kind. */
export class LiveCalls {
  readonly app = new Set<grpc.ServerInterceptingCallInterface>();
  /** Health and reflection. */
  readonly infra = new Set<grpc.ServerInterceptingCallInterface>();

  /** Answers every call of `kind` with `status` now (their handlers see a cancel). */
  endAll(kind: 'app' | 'infra', status: CallStatus): void {
    for (const call of [...this[kind]]) call.sendStatus(status);
  }
}

export function callTrackingInterceptor(counters: ServerCounters, live: LiveCalls): grpc.ServerInterceptor {
  // A gate that admits everything: it records the call when its metadata arrives and forgets it,
  // once, however it ends.
  return gateInterceptor((method, call) => {
    const infra = isInfraMethod(method.path);
    const set = infra ? live.infra : live.app;
    return {
      admit() {
        set.add(call);
        if (!infra) counters.callStarted();
        return undefined;
      },
      end() {
        set.delete(call);
        if (!infra) counters.callEnded();
      },
    };
  });
}
