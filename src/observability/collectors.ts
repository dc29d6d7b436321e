// Metrics read from objects that keep their own statistics — a served gRPC server (refusals,
// calls in flight) and adaptive throttles — refreshed on every scrape.
import type { Disposable } from '../core/events.ts';
import { splitMethodPath } from './propagation.ts';
import type { CoordServer } from '../grpc/server-handle.ts';
import type { AdaptiveThrottle } from '../resilience/adaptive-throttle.ts';
import type { CoordMetrics } from './metrics.ts';

/** Functions run before each scrape to bring gauges up to date. */
export type Refreshers = Set<() => void>;

/** Counts `server`'s refused calls (shed, rate-limited, past deadline) and exports its calls in flight, labelled `server=name`. */
export function watchServer(metrics: CoordMetrics, refreshers: Refreshers, server: CoordServer, name: string): Disposable {
  const sub = server.onRejected(({ method, reason }) => {
    const { service, method: m } = splitMethodPath(method);
    metrics.grpcServerRejected.inc({ server: name, grpc_service: service, grpc_method: m, reason });
  });
  const refresh = () => metrics.grpcServerInFlight.set({ server: name }, server.stats().inFlight);
  refreshers.add(refresh);
  const dispose = () => {
    sub.dispose();
    refreshers.delete(refresh);
    metrics.grpcServerInFlight.remove({ server: name });
  };
  void server.closed.then(dispose, dispose);
  return { dispose };
}

/** Exports `throttle`'s window and local rejections, labelled `target`. */
export function watchThrottle(metrics: CoordMetrics, refreshers: Refreshers, throttle: AdaptiveThrottle, target: string): Disposable {
  let reported = 0;
  const labels = { target };
  const refresh = () => {
    const s = throttle.stats();
    metrics.throttleRejectProbability.set(labels, s.rejectProbability);
    metrics.throttleWindowRequests.set(labels, s.requests);
    metrics.throttleWindowAccepts.set(labels, s.accepts);
    if (s.rejectedTotal > reported) metrics.throttleRejected.inc(labels, s.rejectedTotal - reported);
    reported = s.rejectedTotal;
  };
  refresh();
  refreshers.add(refresh);
  return {
    dispose: () => {
      refreshers.delete(refresh);
      for (const g of [metrics.throttleRejectProbability, metrics.throttleWindowRequests, metrics.throttleWindowAccepts]) g.remove(labels);
    },
  };
}
