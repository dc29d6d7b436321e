// A reconnect storm: many watchers created from old revisions are caught up in batches (one pass
// over history per batch, one batch per tick) while writes keep landing. Every watcher must get
// exactly its events — those at or after its start revision that match its key/range and filters,
// with prev_kv when asked — in order, with no gap and no duplicate, whichever batch it fell in;
// a watcher whose start revision is compacted (before or while it waits) is cancelled with
// compact_revision and gets nothing else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Mvcc, inRange, keyRange, type MvccEvent } from './mvcc.ts';
import { SYNC_BATCH, WatchHub, type WatchResponseMsg } from './watch-hub.ts';

const noLeases = { attach() {}, detach() {} };

/** mulberry32, seeded so a failure replays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

interface Spec {
  key: string;
  end: string;
  start: number;
  noPut: boolean;
  noDelete: boolean;
  prevKv: boolean;
}
type Got = { type: number; key: string; rev: number; prev: string | null };

function setup(seed: number) {
  const rnd = random(seed);
  const mvcc = new Mvcc(noLeases);
  const hub = new WatchHub(mvcc, { progressIntervalMs: 60_000, maxResponseBytes: 1 << 20 });
  const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
  /** One revision: 1–3 puts or deletes, published as the store publishes a durable revision. */
  const write = () => {
    const n = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < n; i++) {
      const k = keys[Math.floor(rnd() * keys.length)];
      if (rnd() < 0.25) mvcc.del(keyRange(k, ''));
      else mvcc.put(k, Buffer.from(k), Buffer.from(`v${mvcc.rev}`), 0n);
    }
    const events = mvcc.end();
    if (events.length) hub.publish(events);
  };
  return { rnd, mvcc, hub, keys, write };
}

function randomSpec(rnd: () => number, keys: string[], maxRev: number): Spec {
  const k = keys[Math.floor(rnd() * keys.length)];
  const kind = rnd();
  const end = kind < 0.5 ? '' : kind < 0.8 ? String.fromCharCode(k.charCodeAt(0) + 2) : '\0';
  return { key: k, end, start: 1 + Math.floor(rnd() * maxRev), noPut: rnd() < 0.15, noDelete: rnd() < 0.15, prevKv: rnd() < 0.5 };
}

function expected(all: MvccEvent[], s: Spec): Got[] {
  const r = keyRange(s.key, s.end);
  return all
    .filter((e) => e.kv.mod >= s.start && inRange(r, e.kv.key) && !(e.type === 0 ? s.noPut : s.noDelete))
    .map((e) => ({ type: e.type, key: e.kv.key, rev: e.kv.mod, prev: s.prevKv && e.prev ? e.prev.value.toString() : null }));
}

function received(msgs: WatchResponseMsg[], id: number): Got[] {
  const out: Got[] = [];
  for (const m of msgs) {
    if (m.watch_id !== id || !m.events) continue;
    for (const e of m.events as { type: number; kv: { key: Buffer; mod_revision: number }; prev_kv: { value: Buffer } | null }[]) {
      out.push({ type: e.type, key: e.kv.key.toString(), rev: e.kv.mod_revision, prev: e.prev_kv ? e.prev_kv.value.toString() : null });
    }
  }
  return out;
}

describe('watch hub: unsynced watchers caught up in batches', () => {
  for (const seed of [1, 2, 3]) {
    it(`${3 * SYNC_BATCH + 17} watchers on 40 streams from random old revisions, writes between ticks (seed ${seed})`, async () => {
      const { rnd, mvcc, hub, keys, write } = setup(seed);
      for (let i = 0; i < 300; i++) write();
      const streams = Array.from({ length: 40 }, () => {
        const msgs: WatchResponseMsg[] = [];
        return { msgs, stream: hub.openStream((r) => msgs.push(r)), specs: new Map<number, Spec>() };
      });
      const total = 3 * SYNC_BATCH + 17;
      for (let i = 0; i < total; i++) {
        const st = streams[i % streams.length];
        const spec = randomSpec(rnd, keys, mvcc.rev);
        st.stream.create({ key: Buffer.from(spec.key), range_end: Buffer.from(spec.end), start_revision: String(spec.start), progress_notify: false, filters: [...(spec.noPut ? [0] : []), ...(spec.noDelete ? [1] : [])], prev_kv: spec.prevKv, watch_id: '0', fragment: false });
        const created = st.msgs.filter((m) => m.created);
        st.specs.set(created[created.length - 1].watch_id, spec);
        // Writes land while earlier watchers are still waiting for their batch.
        if (i % 100 === 0) write();
        if (i % 700 === 699) await tick();
      }
      assert.ok(hub.unsyncedCount > SYNC_BATCH, 'the storm must need more than one batch');
      while (hub.unsyncedCount > 0) {
        write();
        await tick();
      }
      for (let i = 0; i < 20; i++) write();
      const all = [...mvcc.eventsSince(1)];
      for (const st of streams) {
        for (const [id, spec] of st.specs) assert.deepEqual(received(st.msgs, id), expected(all, spec), `watch ${id} ${JSON.stringify(spec)}`);
      }
      hub.close();
    });
  }

  it('a watcher whose start revision is compacted before or while it waits is cancelled with compact_revision, nothing else', async () => {
    const { mvcc, hub, write } = setup(7);
    for (let i = 0; i < 50; i++) write();
    mvcc.compact(10);
    const msgs: WatchResponseMsg[] = [];
    const stream = hub.openStream((r) => msgs.push(r));
    const create = (start: number) => stream.create({ key: Buffer.from('a'), range_end: Buffer.from('\0'), start_revision: String(start), progress_notify: false, filters: [], prev_kv: false, watch_id: '0', fragment: false });
    create(5); // compacted already: cancelled at once
    create(20); // waits for its batch; history to 30 is compacted before that batch runs
    create(40); // still fine after that compaction
    mvcc.compact(30);
    while (hub.unsyncedCount > 0) await tick();
    const cancels = msgs.filter((m) => m.canceled).map((m) => [m.watch_id, m.compact_revision]);
    assert.deepEqual(cancels, [[0, 10], [1, 30]]);
    assert.equal(received(msgs, 0).length + received(msgs, 1).length, 0);
    const all = [...mvcc.eventsSince(1)];
    assert.deepEqual(received(msgs, 2), expected(all, { key: 'a', end: '\0', start: 40, noPut: false, noDelete: false, prevKv: false }));
    hub.close();
  });

  it('a progress request waits until the stream\'s watchers have caught up', async () => {
    const { mvcc, hub, write } = setup(9);
    for (let i = 0; i < 20; i++) write();
    const msgs: WatchResponseMsg[] = [];
    const stream = hub.openStream((r) => msgs.push(r));
    stream.create({ key: Buffer.from('a'), range_end: Buffer.from('\0'), start_revision: '1', progress_notify: false, filters: [], prev_kv: false, watch_id: '0', fragment: false });
    stream.progress();
    assert.equal(msgs.filter((m) => m.watch_id === -1).length, 0);
    while (hub.unsyncedCount > 0) await tick();
    const progressAt = msgs.findIndex((m) => m.watch_id === -1);
    const lastEvents = msgs.findLastIndex((m) => m.events);
    assert.ok(progressAt > lastEvents, 'the progress reply comes after the replayed events');
    assert.equal(msgs[progressAt].header.revision, mvcc.rev);
    hub.close();
  });
});
