// Metrics for coord's coordination primitives, derived from the spans they emit (src/core/tracing.ts):
// the layers below observability only speak the OpenTelemetry API and never import prom-client,
// so a lock's wait time is the duration of its `coord.lock.acquire` span, a config reload is a
// `coord.config.reload` span, and so on. Only recorded spans reach a processor: with a sampler
// that drops coord's spans these metrics undercount (the default sampler records every span).
import { SpanStatusCode, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { CoordMetrics } from './metrics.ts';

const REGISTRY_EVENTS: Record<string, string> = {
  'coord.registry.register': 'registered',
  'coord.registry.reregister': 'reregistered',
  'coord.registry.deregister': 'deregistered',
  'coord.registry.lost': 'lost',
  'coord.registry.error': 'error',
  'coord.registry.conflict': 'conflict',
  'coord.discovery.error': 'discovery_error',
};

/** A span processor that turns coord's own `coord.*` spans (lock waits, elections, config reloads, registry events) into Prometheus metrics. */
export class SpanMetricsProcessor implements SpanProcessor {
  constructor(private readonly metrics: CoordMetrics) {}

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (!span.name.startsWith('coord.')) return;
    const a = span.attributes;
    const failed = span.status.code === SpanStatusCode.ERROR;
    const seconds = span.duration[0] + span.duration[1] / 1e9;
    const str = (key: string) => String(a[key] ?? '');
    const m = this.metrics;
    switch (span.name) {
      case 'coord.lock.acquire':
        m.lockWait.observe({ outcome: failed ? 'error' : a['coord.lock.acquired'] === false ? 'busy' : 'acquired' }, seconds);
        break;
      case 'coord.lock.release':
        m.lockHeld.observe(Number(a['coord.lock.held_ms'] ?? 0) / 1000);
        break;
      case 'coord.election.campaign':
        if (!failed) m.electionEvents.inc({ election: str('coord.election.name'), event: 'elected' });
        break;
      case 'coord.election.resign':
        m.electionEvents.inc({ election: str('coord.election.name'), event: 'resigned' });
        break;
      case 'coord.election.lost':
        m.electionEvents.inc({ election: str('coord.election.name'), event: 'lost' });
        break;
      case 'coord.config.publish':
        m.configPublishes.inc({ namespace: str('coord.config.namespace'), key: str('coord.config.key'), result: failed ? 'error' : 'ok' });
        break;
      case 'coord.config.reload':
        m.configReloads.inc({ namespace: str('coord.config.namespace'), key: str('coord.config.key'), result: a['coord.config.applied'] === false ? 'rejected' : 'applied' });
        break;
      case 'coord.lease.lost':
        m.leaseEvents.inc({ event: 'lost' });
        break;
      case 'coord.lease.recovered':
        m.leaseEvents.inc({ event: 'recovered' });
        break;
      case 'coord.lease.error':
        m.leaseEvents.inc({ event: 'error' });
        break;
      case 'coord.etcd.history_lost':
        m.historyLost.inc({ reason: str('coord.etcd.reason') });
        break;
      default: {
        const event = REGISTRY_EVENTS[span.name];
        // Losses and errors are recorded as failed spans; a failed register or deregister did not happen.
        if (event && (!failed || event === 'lost' || event === 'conflict' || event.endsWith('error'))) m.registryEvents.inc({ service: str('coord.service.name'), event });
      }
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
