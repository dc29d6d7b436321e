// Adaptive load shedding at the door: the LoadShedder decides when metadata arrives, before the
// request is read or any handler runs, so a refusal costs next to nothing. Unary calls are
// tracked (their response times teach the shedder its capacity); streams are only checked on
// arrival, since how long a stream stays open says nothing about capacity.
import * as grpc from '@grpc/grpc-js';
import type { Admission, LoadShedder } from '../resilience/load-shedder.ts';
import { gateInterceptor, isInfraMethod, type CallStatus } from './interceptor-server-gate.ts';
import type { ServerCounters } from './server-stats.ts';

/** Refusals after this long without one get a log line: one line per overload episode, not per call. */
const QUIET_MS = 5000;

export function loadSheddingInterceptor(shedder: LoadShedder, counters: ServerCounters, log: (line: string) => void): grpc.ServerInterceptor {
  let lastShedAt = -Infinity;
  const refuse = (path: string): CallStatus => {
    const now = performance.now();
    if (now - lastShedAt >= QUIET_MS) {
      const s = shedder.stats();
      log(`grpc: load shedding started: load ${s.load.toFixed(2)}, event-loop delay ${s.delayMs.toFixed(0)} ms (${s.lagMs.toFixed(0)} ms in this turn), ${s.inFlight} in flight over a limit of ${s.maxInFlight.toFixed(1)} (best ${s.maxPassPerSecond.toFixed(0)} req/s, best RT ${s.minRtMs.toFixed(1)} ms)`);
    }
    lastShedAt = now;
    counters.rejected(path, 'shed');
    return { code: grpc.status.RESOURCE_EXHAUSTED, details: 'server overloaded: request shed, try another instance or later' };
  };
  return gateInterceptor((method) => {
    if (isInfraMethod(method.path)) return undefined;
    if (method.requestStream || method.responseStream) {
      return { admit: () => (shedder.shouldShed() ? refuse(method.path) : undefined) };
    }
    let admission: Admission | undefined;
    return {
      admit() {
        admission = shedder.admit();
        return admission ? undefined : refuse(method.path);
      },
      // A cancelled or timed-out call's duration is cut short (or padded) by the client, not the server's pace.
      end: (code) => admission?.done(code !== grpc.status.CANCELLED && code !== grpc.status.DEADLINE_EXCEEDED),
    };
  });
}
