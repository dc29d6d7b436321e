// grpc.health.v1 for a served process, on grpc-health-check's implementation: '' (the server as a
// whole) and each served service by its full name. serve() flips all of them to NOT_SERVING when
// draining starts, which health-checking clients see at once on their Watch streams.
import { createRequire } from 'node:module';
import type * as grpc from '@grpc/grpc-js';
import { CoordError } from '../core/errors.ts';

/** A service's status in grpc.health.v1 terms. */
export type HealthStatus = 'SERVING' | 'NOT_SERVING';

interface HealthImplementation {
  setStatus(service: string, status: HealthStatus): void;
  addToServer(server: Pick<grpc.Server, 'addService'>): void;
}

/** The health service's full name. */
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

export class ServerHealth {
  private readonly impl: HealthImplementation;
  private readonly statuses = new Map<string, HealthStatus>();

  /** `services`: full names of the served services (besides '', which is always there). Starts NOT_SERVING. */
  constructor(services: Iterable<string>) {
    // Loaded on first use: the package parses its proto when imported.
    const require = createRequire(import.meta.url);
    const { HealthImplementation } = require('grpc-health-check') as { HealthImplementation: new () => HealthImplementation };
    this.impl = new HealthImplementation();
    for (const s of ['', ...services]) this.set(s, 'NOT_SERVING');
  }

  /** The health service definition (for reflection). */
  static definition(): grpc.ServiceDefinition {
    const require = createRequire(import.meta.url);
    return (require('grpc-health-check') as { service: grpc.ServiceDefinition }).service;
  }

  addTo(server: grpc.Server): void {
    this.impl.addToServer(server);
  }

  /** Sets one service's status ('' is the server as a whole). */
  set(service: string, status: HealthStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    this.impl.setStatus(service, status);
  }

  /** Sets every known service, '' included. */
  setAll(status: HealthStatus): void {
    for (const s of this.statuses.keys()) this.set(s, status);
  }

  get(service = ''): HealthStatus | undefined {
    return this.statuses.get(service);
  }
}

/** A service definition's full name (`pkg.Service`), from its methods' paths. */
export function serviceName(definition: grpc.ServiceDefinition): string {
  const first = Object.values(definition)[0];
  if (!first) throw new CoordError('invalid-argument', 'a service definition has no methods');
  return first.path.slice(1, first.path.lastIndexOf('/'));
}
