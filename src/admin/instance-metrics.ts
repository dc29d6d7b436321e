import type { InstanceMetrics } from './api-types.ts';
import type { ServiceInstance } from '../registry/instance.ts';

export type { InstanceMetrics };

/**
 * Where the Services page gets health, RPS, error rate and p99 of an instance (InstanceProbe in
 * instance-probe.ts is the default); without a source every instance reports `metrics: null` and
 * the UI shows "n/a" — never made-up numbers.
 */
export interface InstanceMetricsSource {
  /** The instance's current figures, or undefined when there are none for it (yet). Must not block. */
  metrics(instance: ServiceInstance): InstanceMetrics | undefined;
  /** Who calls whom, from what instances report about their own outgoing calls. Optional. */
  topology?(): TopologyEdge[];
}

/** Calls from instances of `from` to `to` (a registry service name, or the gRPC target as reported). */
export interface TopologyEdge {
  from: string;
  to: string;
  requestsPerSecond: number;
  errorRate: number;
}
