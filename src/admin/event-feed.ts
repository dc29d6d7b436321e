import { Emitter } from '../core/events.ts';
import { decodeInstance, type ServiceInstance } from '../registry/instance.ts';
import type { Area, FeedEvent } from './api-types.ts';
import type { MirrorBatch, MirrorChange } from './keyspace-mirror.ts';
import type { Transition } from './queue-tracker.ts';

const KEEP = 200;

type Draft = Omit<FeedEvent, 'seq' | 'revision' | 'at'>;

/**
 * The recent-events feed: each change the dashboard observed, in words, newest kept in a ring of
 * 200. Config history entries are left out (every publish writes one beside the value).
 */
export class EventFeed {
  private readonly ring: FeedEvent[] = [];
  private seq = 0;
  private readonly emitter = new Emitter<FeedEvent>();
  readonly onEvent = this.emitter.on;

  /** Newest first. */
  recent(limit = KEEP): FeedEvent[] {
    return this.ring.slice(-limit).reverse();
  }

  add(batch: MirrorBatch, transitions: Transition[]): void {
    const drafts: Draft[] = [];
    for (const c of batch.changes) {
      const d = describe(c);
      if (d) drafts.push(d);
    }
    for (const t of transitions) drafts.push(describeTransition(t));
    if (!batch.live && batch.changes.length > 0) {
      drafts.unshift({ area: 'other', kind: 'resync', key: '', subject: '', summary: `re-read the namespace after the watch could not resume; ${batch.changes.length} change(s) since, times unknown` });
    }
    for (const d of drafts) {
      const e: FeedEvent = { seq: ++this.seq, revision: batch.revision, at: batch.at, ...d };
      this.ring.push(e);
      if (this.ring.length > KEEP) this.ring.shift();
      this.emitter.emit(e);
    }
  }
}

function describe(c: MirrorChange): Draft | undefined {
  const base = { area: c.area, key: c.key };
  switch (c.area) {
    case 'services':
      return describeInstance(c);
    case 'config': {
      const [kind, rest] = configKind(c);
      if (kind === 'history') return undefined;
      if (kind === 'beta') {
        return { ...base, kind: c.type === 'put' ? 'beta' : 'beta-removed', subject: rest, summary: c.type === 'put' ? `config ${rest}: beta published${byline(c)}` : `config ${rest}: beta removed (promoted or aborted)` };
      }
      if (c.type === 'delete') return { ...base, kind: 'removed', subject: rest, summary: `config ${rest} removed` };
      const rec = record(c.kv.value);
      const v = typeof rec?.version === 'number' ? ` v${rec.version}` : '';
      return { ...base, kind: 'published', subject: rest, summary: `config ${rest}${v} published${byline(c)}` };
    }
    case 'other':
      return { ...base, kind: c.type, subject: c.rel, summary: `${c.key} ${c.type === 'put' ? 'written' : 'deleted'}` };
    default:
      return undefined; // queues: described from the tracker's transitions
  }
}

function configKind(c: MirrorChange): ['value' | 'beta' | 'history', string] {
  const head = c.key.slice(0, c.key.length - c.rel.length - 1);
  const kind = head.endsWith('config-beta') ? 'beta' : head.endsWith('config-history') ? 'history' : 'value';
  return [kind, c.rel];
}

function record(value: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(value.toString());
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function byline(c: MirrorChange): string {
  const rec = record(c.kv.value);
  const author = typeof rec?.author === 'string' && rec.author ? ` by ${rec.author}` : '';
  const message = typeof rec?.message === 'string' && rec.message ? `: ${rec.message}` : '';
  return author + message;
}

function describeInstance(c: MirrorChange): Draft {
  const base = { area: 'services' as Area, key: c.key, subject: c.rel.split('/')[0] };
  const prev = c.prev && instanceOf(c.prev.value);
  if (c.type === 'delete') return { ...base, kind: 'deregistered', summary: `${c.rel} deregistered (lease revoked or expired)` };
  const now = instanceOf(c.kv.value);
  if (!now) return { ...base, kind: 'malformed', summary: `${c.rel} written with a record that is not a valid instance` };
  const fresh = !c.prev || c.prev.createRevision !== c.kv.createRevision;
  if (fresh || !prev) return { ...base, kind: 'registered', summary: `${c.rel} registered (${now.status}${now.version ? `, ${now.version}` : ''})` };
  const parts: string[] = [];
  if (prev.status !== now.status) parts.push(`${prev.status} → ${now.status}`);
  const w0 = prev.metadata?.weight;
  const w1 = now.metadata?.weight;
  if (w0 !== w1) parts.push(`weight ${w0 ?? '-'} → ${w1 ?? '-'}`);
  if (prev.version !== now.version) parts.push(`version ${prev.version ?? '-'} → ${now.version ?? '-'}`);
  if (parts.length === 0) parts.push('record updated');
  return { ...base, kind: prev.status !== now.status ? 'status' : 'updated', summary: `${c.rel}: ${parts.join(', ')}` };
}

function instanceOf(value: Buffer): ServiceInstance | undefined {
  const i = decodeInstance(value);
  return typeof i === 'string' ? undefined : i;
}

const WORDS: Record<Transition['area'], Record<Transition['kind'], string>> = {
  locks: { queued: 'waits for lock', left: 'left the queue of lock', acquired: 'acquired lock', released: 'released lock', proclaimed: '' },
  semaphores: { queued: 'waits for a permit of', left: 'left the queue of', acquired: 'acquired a permit of', released: 'released a permit of', proclaimed: '' },
  elections: { queued: 'campaigns in', left: 'withdrew from', acquired: 'elected leader of', released: 'gave up leadership of', proclaimed: 'proclaimed a new value in' },
};

function describeTransition(t: Transition): Draft {
  const who = `lease ${t.entry.leaseHex}`;
  const value = t.area === 'elections' && (t.kind === 'acquired' || t.kind === 'proclaimed' || t.kind === 'queued') ? ` (value ${JSON.stringify(t.entry.value.toString())})` : '';
  const token = t.kind === 'acquired' ? `, fencing token ${t.entry.createRevision}` : '';
  const kind = t.area === 'elections' && t.kind === 'acquired' ? 'elected' : t.area === 'elections' && t.kind === 'released' ? 'resigned' : t.kind;
  return { area: t.area, kind, key: t.entry.key, subject: t.name, summary: `${who} ${WORDS[t.area][t.kind]} ${t.name}${value}${token}` };
}
