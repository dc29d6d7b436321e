// Every Prometheus metric coord exports, defined in one place (names and labels are part of the
// public API: dashboards and alerts are written against them). One set per Observability, on its
// own prom-client Registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Latency buckets, seconds: 1 ms to 10 s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Lock waits and holds run longer than requests: 1 ms to 5 min. */
const LOCK_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300];

/** coord's Prometheus metrics (RED per gRPC method and HTTP route, coordination primitives, server and throttle state), as `createMetrics()` makes them. */
export type CoordMetrics = ReturnType<typeof createMetrics>;

/** `refresh` brings the gauges read from live objects (servers, throttles) up to date; it runs on every scrape. */
export function createMetrics(registers: Registry[], refresh: () => void) {
  const o = { registers };
  const live = { registers, collect: refresh };
  return {
    httpRequests: new Counter({ ...o, name: 'http_server_requests_total', help: 'HTTP requests answered, by method, route template and status code.', labelNames: ['method', 'route', 'status_code'] }),
    httpDuration: new Histogram({ ...o, name: 'http_server_request_duration_seconds', help: 'HTTP request duration, seconds.', labelNames: ['method', 'route', 'status_code'], buckets: LATENCY_BUCKETS }),

    grpcServerHandled: new Counter({ ...o, name: 'grpc_server_handled_total', help: 'gRPC calls answered by handlers of this server, by service, method and status code.', labelNames: ['grpc_service', 'grpc_method', 'grpc_code'] }),
    grpcServerDuration: new Histogram({ ...o, name: 'grpc_server_handling_seconds', help: 'gRPC call duration at the server, seconds.', labelNames: ['grpc_service', 'grpc_method', 'grpc_code'], buckets: LATENCY_BUCKETS }),
    grpcServerRejected: new Counter({ ...o, name: 'coord_grpc_server_rejected_total', help: 'gRPC calls refused before their handler ran (load shedding, rate limits, expired deadlines).', labelNames: ['server', 'grpc_service', 'grpc_method', 'reason'] }),
    grpcServerInFlight: new Gauge({ ...live, name: 'coord_grpc_server_in_flight', help: 'Application gRPC calls in flight.', labelNames: ['server'] }),

    grpcClientHandled: new Counter({ ...o, name: 'grpc_client_handled_total', help: 'gRPC calls made by this process, by target, service, method and status code.', labelNames: ['target', 'grpc_service', 'grpc_method', 'grpc_code'] }),
    grpcClientDuration: new Histogram({ ...o, name: 'grpc_client_handling_seconds', help: 'gRPC call duration at the client, seconds.', labelNames: ['target', 'grpc_service', 'grpc_method', 'grpc_code'], buckets: LATENCY_BUCKETS }),
    grpcClientPicks: new Counter({ ...o, name: 'coord_grpc_client_picks_total', help: 'gRPC calls sent to each backend address (the balancer\'s picks), by target and peer.', labelNames: ['target', 'peer'] }),

    throttleRejectProbability: new Gauge({ ...live, name: 'coord_throttle_reject_probability', help: 'Adaptive throttle: probability that the next call is rejected locally.', labelNames: ['target'] }),
    throttleWindowRequests: new Gauge({ ...live, name: 'coord_throttle_window_requests', help: 'Adaptive throttle: requests in the sliding window.', labelNames: ['target'] }),
    throttleWindowAccepts: new Gauge({ ...live, name: 'coord_throttle_window_accepts', help: 'Adaptive throttle: requests in the window the backend accepted.', labelNames: ['target'] }),
    throttleRejected: new Counter({ ...live, name: 'coord_throttle_rejected_total', help: 'Adaptive throttle: calls rejected locally.', labelNames: ['target'] }),

    lockWait: new Histogram({ ...o, name: 'coord_lock_wait_seconds', help: 'Time from asking for a lock to holding it (or giving up), seconds.', labelNames: ['outcome'], buckets: LOCK_BUCKETS }),
    lockHeld: new Histogram({ ...o, name: 'coord_lock_held_seconds', help: 'Time a lock was held until released, seconds.', buckets: LOCK_BUCKETS }),
    electionEvents: new Counter({ ...o, name: 'coord_election_events_total', help: 'Leader election events of this process: elected, resigned, lost.', labelNames: ['election', 'event'] }),
    configPublishes: new Counter({ ...o, name: 'coord_config_publishes_total', help: 'Config versions published by this process (publish, rollback, promote).', labelNames: ['namespace', 'key', 'result'] }),
    configReloads: new Counter({ ...o, name: 'coord_config_reloads_total', help: 'Config values delivered to subscribers (applied) or refused by their schema (rejected).', labelNames: ['namespace', 'key', 'result'] }),
    registryEvents: new Counter({ ...o, name: 'coord_registry_events_total', help: 'Registry events of this process\'s instances and discoveries: registered, reregistered, deregistered, lost, error (a failed re-registration or lease grant, retried), conflict (a foreign-format key this instance publishes was held by another instance\'s lease), discovery_error (a failed read of an instance set, retried).', labelNames: ['service', 'event'] }),
    leaseEvents: new Counter({ ...o, name: 'coord_lease_events_total', help: 'Leases lost, recovered (new lease after a loss) and failed grant attempts (error, retried) of this process.', labelNames: ['event'] }),
    historyLost: new Counter({ ...o, name: 'coord_etcd_history_lost_total', help: "Times etcd's history went backwards under this process (new cluster id, or a revision below one already seen): every watch re-read from scratch.", labelNames: ['reason'] }),
  };
}
