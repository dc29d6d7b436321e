import { Emitter } from '../core/events.ts';

/** The store behind the endpoints lost history coord had already seen. */
export interface HistoryLost {
  /** `'cluster-id'`: another cluster answers (a new one, or a `--memory` store restarted); `'revision'`: the same cluster id, an older revision (restored backup). */
  reason: 'cluster-id' | 'revision';
  /** The highest revision seen before, and the one just answered. */
  previousRevision: number;
  revision: number;
  previousClusterId: string;
  clusterId: string;
}

/**
 * Watches the headers of every etcd response for history going backwards. A linearizable answer
 * can never carry a revision below that of an answer received before its request was sent (`floor`),
 * and a cluster's id never changes: either happening means the store was replaced by one without
 * our history — revisions restart, watches resumed from the old revision would wait forever, and
 * fencing tokens start again from low numbers. The owner re-reads everything on `onLost`.
 */
export class HistoryGuard {
  private readonly lost = new Emitter<HistoryLost>();
  /** Fires once per loss, before the answer that revealed it is handed to its caller. */
  readonly onLost = this.lost.on;
  /** Highest revision any answer carried. */
  revision = 0;
  clusterId = '';

  /** The floor for a request sent now: the highest revision seen so far. */
  floor(): number {
    return this.revision;
  }

  /** A revision known to exist (a watch event's): later answers may not be below it. */
  seen(revision: number): void {
    if (revision > this.revision) this.revision = revision;
  }

  /** Checks one response header; true when it revealed a loss (already reported). */
  observe(header: { revision?: string | number; cluster_id?: string | number } | null | undefined, floor: number): boolean {
    if (!header) return false;
    const revision = Number(header.revision ?? 0);
    const clusterId = String(header.cluster_id ?? '0');
    let reason: HistoryLost['reason'] | undefined;
    if (clusterId !== '0' && this.clusterId !== '' && clusterId !== this.clusterId) reason = 'cluster-id';
    else if (revision > 0 && revision < floor) reason = 'revision';
    const event: HistoryLost = { reason: reason ?? 'revision', previousRevision: this.revision, revision, previousClusterId: this.clusterId, clusterId };
    if (clusterId !== '0') this.clusterId = clusterId;
    if (reason) {
      this.revision = revision;
      this.lost.emit(event);
      return true;
    }
    if (revision > this.revision) this.revision = revision;
    return false;
  }
}

/** `etcd's history went backwards (cluster id a → b, revision 120 → 3)`, for logs and errors. */
export function describeHistoryLost(h: HistoryLost): string {
  const cause = h.reason === 'cluster-id' ? `another cluster answers (cluster id ${h.previousClusterId} → ${h.clusterId})` : `its revision went back from ${h.previousRevision} to ${h.revision}`;
  return `etcd lost the history coord had seen: ${cause} — a store restarted without its data, restored from an older backup, or another cluster behind the same address; re-reading everything`;
}
