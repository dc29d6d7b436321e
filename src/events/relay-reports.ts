// Reads what the outbox relays publish (outbox-relay.ts): one report per relay instance, for the
// CLI's `coord events stats` and the dashboard's Events page.
import type { Coord } from '../coord.ts';
import type { RelayReport } from './outbox-relay.ts';

/** A relay's report as read back; `malformed` says why a key could not be read as one. */
export type RelayReportRow = RelayReport | { outbox: string; instance: string; malformed: string };

/** Every relay report in `coord`'s namespace, by outbox then instance (of `outbox` only, when given). */
export async function readRelayReports(coord: Coord, outbox?: string, options: { signal?: AbortSignal } = {}): Promise<RelayReportRow[]> {
  const root = `${coord.namespace}events/outbox/`;
  const r = await coord.etcd.range(outbox === undefined ? root : `${root}${encodeURIComponent(outbox)}/`, { prefix: true, signal: options.signal });
  return r.kvs
    .map((kv): RelayReportRow => {
      const [o = '', i = ''] = kv.key.slice(root.length).split('/').map((s) => safeDecode(s));
      try {
        const v = JSON.parse(kv.value.toString()) as Partial<RelayReport>;
        if (typeof v.backlog !== 'number' || typeof v.sent !== 'number') throw new Error('no backlog or sent figure');
        return { outbox: o, instance: i, leader: !!v.leader, backlog: v.backlog, oldestAgeSeconds: Number(v.oldestAgeSeconds ?? 0), sent: v.sent, errors: Number(v.errors ?? 0), updated: String(v.updated ?? '') };
      } catch (e) {
        return { outbox: o, instance: i, malformed: (e as Error).message };
      }
    })
    .sort((a, b) => (a.outbox === b.outbox ? a.instance.localeCompare(b.instance) : a.outbox.localeCompare(b.outbox)));
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
