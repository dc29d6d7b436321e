// The storage a lock protects in the lock-pause chaos scenario, as a ledger of writes per lock
// group. With fencing on it applies Kleppmann's check — reject any write whose token is lower than
// the highest token it has accepted — and with fencing off it accepts everything. Either way it
// records what a safety violation looks like, using two independent definitions:
//
// - stale write accepted: a write accepted with a token lower than one the group already accepted.
// - overlap: holder A wrote `begin`, another client's `begin` was accepted after it, and then a
//   write of A's section was accepted too: A kept writing after B took over. This one never looks
//   at token values, so it also catches a lock that hands out wrong tokens.

export type WriteKind = 'begin' | 'data' | 'end';

export interface WriteRequest {
  /** The lock group (one lock name, its workers, its share of the resource). */
  group: string;
  client: string;
  token: number;
  seq: number;
  kind: WriteKind;
}

export interface ResourceStats {
  writes: number;
  accepted: number;
  /** Writes refused by the fencing check (their token was below the highest accepted one). */
  staleRejected: number;
  /** Writes accepted although their token was below the highest accepted one. */
  staleAccepted: number;
  /** Critical sections that had writes accepted after another client's section began. */
  overlaps: number;
  /** Accepted writes belonging to such overlapping sections, after the overlap began. */
  overlapWrites: number;
  /** Accepted `begin` writes: critical sections entered. */
  sections: number;
  /** Sections begun by a different client than the previous section of the same group. */
  handovers: number;
}

interface Group {
  stats: ResourceStats;
  maxToken: number;
  lastBeginClient: string | undefined;
  /** Per client: ordinal of its current section, and whether it already counted as an overlap. */
  sections: Map<string, { ordinal: number; overlapped: boolean }>;
}

const emptyStats = (): ResourceStats => ({ writes: 0, accepted: 0, staleRejected: 0, staleAccepted: 0, overlaps: 0, overlapWrites: 0, sections: 0, handovers: 0 });

export class FencedResource {
  private readonly groups = new Map<string, Group>();

  constructor(readonly fencing: boolean) {}

  /** Applies one write; returns whether it was accepted. Throws on a write outside any section. */
  write(w: WriteRequest): boolean {
    const g = this.group(w.group);
    const section = g.sections.get(w.client);
    if (w.kind !== 'begin' && !section) throw new Error(`${w.group}/${w.client}: ${w.kind} write #${w.seq} without a begin`);
    g.stats.writes++;
    const stale = w.token < g.maxToken;
    if (stale && this.fencing) {
      g.stats.staleRejected++;
      return false;
    }
    g.stats.accepted++;
    if (stale) g.stats.staleAccepted++;
    g.maxToken = Math.max(g.maxToken, w.token);
    if (w.kind === 'begin') {
      g.stats.sections++;
      if (g.lastBeginClient !== undefined && g.lastBeginClient !== w.client) g.stats.handovers++;
      g.lastBeginClient = w.client;
      g.sections.set(w.client, { ordinal: g.stats.sections, overlapped: false });
    } else if (section && section.ordinal < g.stats.sections) {
      g.stats.overlapWrites++;
      if (!section.overlapped) g.stats.overlaps++;
      section.overlapped = true;
    }
    return true;
  }

  /** Stats per group, and their sum under `total`. */
  stats(): { groups: Record<string, ResourceStats>; total: ResourceStats } {
    const groups: Record<string, ResourceStats> = {};
    const total = emptyStats();
    for (const [name, g] of this.groups) {
      groups[name] = { ...g.stats };
      for (const k of Object.keys(total) as Array<keyof ResourceStats>) total[k] += g.stats[k];
    }
    return { groups, total };
  }

  private group(name: string): Group {
    let g = this.groups.get(name);
    if (!g) {
      g = { stats: emptyStats(), maxToken: 0, lastBeginClient: undefined, sections: new Map() };
      this.groups.set(name, g);
    }
    return g;
  }
}
