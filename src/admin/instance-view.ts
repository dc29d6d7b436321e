import type { ServiceInstance } from '../registry/instance.ts';
import type { InstanceMetrics, InstanceView } from './api-types.ts';

/** What the API shows of a record whatever its content: where it is and since when. */
export type RecordFields = Pick<InstanceView, 'key' | 'lease' | 'createRevision' | 'modRevision' | 'registeredSince' | 'publishedBy'>;

/**
 * An instance as the API shows it, for coord's records and foreign-format ones alike. A record
 * that did not decode (`decoded` is then why) is listed, flagged, rather than hidden; its id is
 * the last segment of its key.
 */
export function instanceView(record: RecordFields, service: string, decoded: ServiceInstance | string, metrics: (i: ServiceInstance) => InstanceMetrics | null): InstanceView {
  if (typeof decoded === 'string') {
    const id = record.key.slice(record.key.lastIndexOf('/') + 1);
    return { ...record, id, service, version: null, endpoints: [], zone: null, weight: null, status: 'serving', metadata: {}, malformed: decoded, metrics: null };
  }
  const md = decoded.metadata ?? {};
  const weight = Number(md.weight);
  return {
    ...record,
    id: decoded.id,
    service,
    version: decoded.version ?? null,
    endpoints: decoded.endpoints,
    zone: md.zone === undefined ? null : String(md.zone),
    weight: md.weight === undefined || !Number.isFinite(weight) ? null : weight,
    status: decoded.status ?? 'serving',
    metadata: md,
    metrics: metrics(decoded),
  };
}
