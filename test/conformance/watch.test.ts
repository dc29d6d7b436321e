// Watch: watcher ids, key / prefix / range watchers on one stream, event shapes, prev_kv,
// filters, history replay and future start revisions, progress (requested and periodic),
// cancel, compaction, multi-event revisions and ordering under a burst of writes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backends } from '../helpers/backends.ts';
import { eventView, kvView, op, prefixEnd, rev, useBackend } from '../helpers/conformance.ts';
import { FilterType, type Event, type WatchResponse } from '../helpers/raw-client.ts';

/** The progress-notify period both backends are started with for this suite. */
const PROGRESS_INTERVAL_MS = 1000;

/** The fields of a WatchResponse that say what it is, without its events. */
function shape(res: WatchResponse) {
  return {
    watch_id: res.watch_id,
    created: res.created,
    canceled: res.canceled,
    compact_revision: res.compact_revision,
    cancel_reason: res.cancel_reason,
    events: res.events.length,
  };
}

const created = (watchId: string) => ({
  watch_id: watchId,
  created: true,
  canceled: false,
  compact_revision: '0',
  cancel_reason: '',
  events: 0,
});

describe('watch', () => {
  for (const b of backends()) {
    describe(b.name, { skip: b.skip }, () => {
      const t = useBackend(b, { watchProgressNotifyIntervalMs: PROGRESS_INTERVAL_MS });

      it('the first watcher on a stream gets id 0; the created reply has the current revision', async () => {
        const p = t.prefix('first-id');
        await t.client.put({ key: p + 'k', value: 'v' });
        const r0 = await t.client.revision();
        const stream = t.client.watchStream();
        const res = await stream.watch({ key: p + 'k' });
        assert.deepEqual(shape(res), created('0'));
        assert.equal(rev(res.header), r0);
        assert.notEqual(res.header.cluster_id, '0');
        assert.notEqual(res.header.member_id, '0');
        stream.close();
      });

      it('auto ids count up per stream and skip ids taken explicitly', async () => {
        const p = t.prefix('ids');
        const one = t.client.watchStream();
        assert.equal((await one.watch({ key: p + 'a', watch_id: 1 })).watch_id, '1', 'explicit id honoured');
        assert.equal((await one.watch({ key: p + 'a' })).watch_id, '0');
        assert.equal((await one.watch({ key: p + 'a' })).watch_id, '2', 'skips the explicit 1');
        assert.equal((await one.watch({ key: p + 'a', watch_id: 10 })).watch_id, '10');
        assert.equal((await one.watch({ key: p + 'a' })).watch_id, '3');
        const two = t.client.watchStream();
        assert.equal((await two.watch({ key: p + 'a' })).watch_id, '0', 'ids are per stream');
        one.close();
        two.close();
      });

      it('a duplicate explicit id is refused with created+canceled and id -1; the first watcher lives on', async () => {
        const p = t.prefix('dup-id');
        const r0 = await t.client.revision();
        const stream = t.client.watchStream();
        await stream.watch({ key: p + 'a', watch_id: 7 });
        stream.create({ key: p + 'b', watch_id: 7 });
        const refused = await stream.next();
        assert.deepEqual(shape(refused), {
          watch_id: '-1',
          created: true,
          canceled: true,
          compact_revision: '0',
          cancel_reason: 'mvcc: duplicate watch ID provided on the WatchStream',
          events: 0,
        });
        assert.equal(rev(refused.header), r0);
        await t.client.put({ key: p + 'b', value: 'x' });
        await t.client.put({ key: p + 'a', value: 'y' });
        const res = await stream.next();
        assert.equal(res.watch_id, '7');
        assert.deepEqual(res.events.map(eventView), [{ type: 'PUT', key: p + 'a', value: 'y', mod_revision: r0 + 2 }]);
        await stream.expectSilence(300);
        stream.close();
      });

      it('key, prefix and range watchers share one stream; each gets its own responses', async () => {
        const p = t.prefix('several');
        const stream = t.client.watchStream();
        const key = (await stream.watch({ key: p + 'a' })).watch_id;
        const prefix = (await stream.watch({ key: p, range_end: prefixEnd(p) })).watch_id;
        const range = (await stream.watch({ key: p + 'b', range_end: p + 'd' })).watch_id;
        for (const k of ['a', 'b', 'c', 'd']) await t.client.put({ key: p + k, value: k });
        const { responses } = await stream.collect((events) => events.length === 1 + 4 + 2);
        const seen = (id: string) =>
          responses.filter((r) => r.watch_id === id).flatMap((r) => r.events.map((e) => e.kv!.key.toString()));
        assert.deepEqual(seen(key), [p + 'a']);
        assert.deepEqual(seen(prefix), [p + 'a', p + 'b', p + 'c', p + 'd']);
        assert.deepEqual(seen(range), [p + 'b', p + 'c']);
        for (const r of responses) assert.equal(r.events.length, 1, 'one response per watcher per revision');
        await stream.expectSilence(300);
        stream.close();
      });

      it('PUT and DELETE events: kv shapes and header revision = event revision', async () => {
        const p = t.prefix('shapes');
        const lease = await t.client.leaseGrant({ TTL: 60 });
        const stream = t.client.watchStream();
        await stream.watch({ key: p + 'k' });
        const r0 = await t.client.revision();
        await t.client.put({ key: p + 'k', value: 'v1', lease: lease.ID });
        await t.client.put({ key: p + 'k', value: 'v2', lease: lease.ID });
        await t.client.deleteRange({ key: p + 'k' });
        const { events, responses } = await stream.collect((events) => events.length === 3);
        assert.deepEqual(responses.map((r) => rev(r.header)), [r0 + 1, r0 + 2, r0 + 3]);
        assert.deepEqual(events.map((e) => e.type), [0, 0, 1]);
        assert.deepEqual(events.map((e) => kvView(e.kv!)), [
          { key: p + 'k', value: 'v1', create_revision: r0 + 1, mod_revision: r0 + 1, version: 1, lease: lease.ID },
          { key: p + 'k', value: 'v2', create_revision: r0 + 1, mod_revision: r0 + 2, version: 2, lease: lease.ID },
          // A delete carries only the key and the deleting revision.
          { key: p + 'k', value: '', create_revision: 0, mod_revision: r0 + 3, version: 0, lease: '0' },
        ]);
        assert.ok(events.every((e) => e.prev_kv === null), 'no prev_kv unless asked');
        stream.close();
        await t.client.leaseRevoke({ ID: lease.ID });
      });

      it('prev_kv: null for a created key, the previous kv for updates and deletes', async () => {
        const p = t.prefix('prev-kv');
        const stream = t.client.watchStream();
        await stream.watch({ key: p + 'k', prev_kv: true });
        const r0 = await t.client.revision();
        await t.client.put({ key: p + 'k', value: 'v1' });
        await t.client.put({ key: p + 'k', value: 'v2' });
        await t.client.deleteRange({ key: p + 'k' });
        const { events } = await stream.collect((events) => events.length === 3);
        assert.equal(events[0].prev_kv, null);
        assert.deepEqual(kvView(events[1].prev_kv!), {
          key: p + 'k', value: 'v1', create_revision: r0 + 1, mod_revision: r0 + 1, version: 1, lease: '0',
        });
        assert.deepEqual(kvView(events[2].prev_kv!), {
          key: p + 'k', value: 'v2', create_revision: r0 + 1, mod_revision: r0 + 2, version: 2, lease: '0',
        });
        stream.close();
      });

      it('NOPUT and NODELETE filters drop those events', async () => {
        const p = t.prefix('filters');
        const stream = t.client.watchStream();
        const noPut = (await stream.watch({ key: p, range_end: prefixEnd(p), filters: [FilterType.NOPUT] })).watch_id;
        const noDelete = (await stream.watch({ key: p, range_end: prefixEnd(p), filters: [FilterType.NODELETE] })).watch_id;
        await t.client.put({ key: p + 'a', value: '1' });
        await t.client.deleteRange({ key: p + 'a' });
        await t.client.put({ key: p + 'b', value: '2' });
        const { responses } = await stream.collect((events) => events.length === 3);
        const seen = (id: string) =>
          responses.filter((r) => r.watch_id === id).flatMap((r) => r.events.map((e) => `${e.type}:${e.kv!.key}`));
        assert.deepEqual(seen(noPut), [`1:${p}a`]);
        assert.deepEqual(seen(noDelete), [`0:${p}a`, `0:${p}b`]);
        await stream.expectSilence(300);
        stream.close();
      });

      it('start_revision replays history from that revision, then continues live', async () => {
        const p = t.prefix('replay');
        const r0 = await t.client.revision();
        await t.client.put({ key: p + 'a', value: '1' });
        await t.client.put({ key: p + 'b', value: '2' });
        await t.client.deleteRange({ key: p + 'a' });
        await t.client.put({ key: p + 'a', value: '3' });
        const stream = t.client.watchStream();
        const res = await stream.watch({ key: p, range_end: prefixEnd(p), start_revision: r0 + 2, prev_kv: true });
        assert.equal(rev(res.header), r0 + 4);
        const replay = await stream.collect((events) => events.length === 3);
        assert.deepEqual(replay.events.map(eventView), [
          { type: 'PUT', key: p + 'b', value: '2', mod_revision: r0 + 2 },
          { type: 'DELETE', key: p + 'a', value: '', mod_revision: r0 + 3, prev_value: '1' },
          { type: 'PUT', key: p + 'a', value: '3', mod_revision: r0 + 4 },
        ]);
        await t.client.put({ key: p + 'b', value: '4' });
        const live = await stream.collect((events) => events.length === 1);
        assert.deepEqual(live.events.map(eventView), [
          { type: 'PUT', key: p + 'b', value: '4', mod_revision: r0 + 5, prev_value: '2' },
        ]);
        stream.close();
      });

      it('replayed events carry the current revision in the header, not the last replayed one', async () => {
        const p = t.prefix('replay-header');
        const r0 = await t.client.revision();
        await t.client.put({ key: p + 'a', value: '1' });
        await t.client.put({ key: p + 'a', value: '2' });
        for (let i = 0; i < 3; i++) await t.client.put({ key: p + 'zz-other', value: String(i) });
        const current = await t.client.revision();
        assert.equal(current, r0 + 5);
        const stream = t.client.watchStream();
        const res = await stream.watch({ key: p + 'a', start_revision: r0 + 1 });
        assert.equal(rev(res.header), current);
        const replay = await stream.next();
        assert.deepEqual(replay.events.map((e) => Number(e.kv!.mod_revision)), [r0 + 1, r0 + 2]);
        assert.equal(rev(replay.header), current, 'etcd stamps replayed events with the store revision at send time');
        await t.client.put({ key: p + 'a', value: '3' });
        const live = await stream.next();
        assert.equal(rev(live.header), current + 1, 'live events carry their own revision');
        stream.close();
      });

      it('a future start_revision waits for that revision', async () => {
        const p = t.prefix('future');
        const r0 = await t.client.revision();
        const stream = t.client.watchStream();
        const res = await stream.watch({ key: p, range_end: prefixEnd(p), start_revision: r0 + 3 });
        assert.deepEqual(shape(res), created('0'));
        await t.client.put({ key: p + 'a', value: '1' });
        await t.client.put({ key: p + 'a', value: '2' });
        await stream.expectSilence(300);
        await t.client.put({ key: p + 'a', value: '3' });
        const { events } = await stream.collect((events) => events.length === 1);
        assert.deepEqual(events.map(eventView), [{ type: 'PUT', key: p + 'a', value: '3', mod_revision: r0 + 3 }]);
        stream.close();
      });

      it('progress_request: one reply with watch_id -1 and the current revision, even with no watchers', async () => {
        const p = t.prefix('progress');
        await t.client.put({ key: p + 'x', value: 'v' });
        const r0 = await t.client.revision();
        const stream = t.client.watchStream();
        stream.progress();
        const empty = await stream.next();
        assert.deepEqual(shape(empty), { ...created('-1'), created: false });
        assert.equal(rev(empty.header), r0);

        await stream.watch({ key: p + 'a' });
        await stream.watch({ key: p + 'b' });
        stream.progress();
        const res = await stream.next();
        assert.deepEqual(shape(res), { ...created('-1'), created: false }, 'one reply for the stream, not per watcher');
        assert.equal(rev(res.header), r0);
        assert.notEqual(res.header.cluster_id, '0');
        await stream.expectSilence(300);
        stream.close();
      });

      it('progress_notify: empty replies for that watcher with the current revision, periodically', async () => {
        const p = t.prefix('progress-notify');
        await t.client.put({ key: p + 'x', value: 'v' });
        const r0 = await t.client.revision();
        const stream = t.client.watchStream();
        const plain = t.client.watchStream();
        await plain.watch({ key: p + 'a' });
        const id = (await stream.watch({ key: p + 'a', progress_notify: true })).watch_id;
        assert.equal(id, '0');
        const first = await stream.next(PROGRESS_INTERVAL_MS * 5);
        assert.deepEqual(shape(first), { ...created(id), created: false });
        assert.equal(rev(first.header), r0);
        const second = await stream.next(PROGRESS_INTERVAL_MS * 5);
        assert.deepEqual(shape(second), { ...created(id), created: false });
        assert.equal(plain.pending, 0, 'watchers without progress_notify get nothing');
        stream.close();
        plain.close();
      });

      it('cancel: one reply with canceled=true and the id; then no more events; unknown ids get no reply', async () => {
        const p = t.prefix('cancel');
        const stream = t.client.watchStream();
        const id = (await stream.watch({ key: p + 'k' })).watch_id;
        await t.client.put({ key: p + 'other', value: 'v' });
        const r0 = await t.client.revision();
        stream.cancel(id);
        const res = await stream.next();
        assert.deepEqual(shape(res), {
          watch_id: id,
          created: false,
          canceled: true,
          compact_revision: '0',
          cancel_reason: '',
          events: 0,
        });
        assert.equal(rev(res.header), r0);
        await t.client.put({ key: p + 'k', value: 'v' });
        stream.cancel(id);
        stream.cancel(99);
        await stream.expectSilence(500);
        stream.close();
      });

      it('events of one revision arrive in one response, in the order the txn wrote them', async () => {
        const p = t.prefix('multi');
        const stream = t.client.watchStream();
        await stream.watch({ key: p, range_end: prefixEnd(p) });
        const r0 = await t.client.revision();
        await t.client.txn({ success: [op.put(p + 'z'), op.put(p + 'x'), op.put(p + 'y')] });
        const puts = await stream.next();
        assert.equal(rev(puts.header), r0 + 1);
        assert.deepEqual(puts.events.map(eventView), ['z', 'x', 'y'].map((k) => ({
          type: 'PUT', key: p + k, value: 'v', mod_revision: r0 + 1,
        })));
        await t.client.deleteRange({ key: p, range_end: prefixEnd(p) });
        const deletes = await stream.next();
        assert.deepEqual(deletes.events.map((e) => `${e.type}:${e.kv!.key}`), ['x', 'y', 'z'].map((k) => `1:${p}${k}`));
        stream.close();
      });

      it('a watch from a compacted revision is created, then canceled with compact_revision', async () => {
        const p = t.prefix('compacted');
        const r0 = await t.client.revision();
        await t.client.put({ key: p + 'k', value: '1' });
        await t.client.put({ key: p + 'k', value: '2' });
        await t.client.compact({ revision: r0 + 2 });
        const stream = t.client.watchStream();
        stream.create({ key: p + 'k', start_revision: r0 + 1, watch_id: 5 });
        const first = await stream.next();
        assert.deepEqual(shape(first), created('5'));
        assert.equal(rev(first.header), r0 + 2);
        const canceled = await stream.next();
        assert.deepEqual(shape(canceled), {
          watch_id: '5',
          created: false,
          canceled: true,
          compact_revision: String(r0 + 2),
          cancel_reason: '',
          events: 0,
        });
        assert.equal(canceled.header.revision, '0', 'etcd leaves the revision of this header at 0');
        assert.notEqual(canceled.header.cluster_id, '0');

        const atCompaction = await stream.watch({ key: p + 'k', start_revision: r0 + 2 });
        const replay = await stream.next();
        assert.equal(replay.watch_id, atCompaction.watch_id);
        assert.deepEqual(replay.events.map(eventView), [{ type: 'PUT', key: p + 'k', value: '2', mod_revision: r0 + 2 }]);
        stream.close();
      });

      it('a burst of 500 writes over 5 keys: every event once, in revision order', async () => {
        const p = t.prefix('burst');
        const stream = t.client.watchStream();
        const all = (await stream.watch({ key: p, range_end: prefixEnd(p) })).watch_id;
        const one = (await stream.watch({ key: p + 'k3' })).watch_id;
        const r0 = await t.client.revision();
        const writers = Array.from({ length: 10 }, async (_, w) => {
          for (let i = 0; i < 50; i++) await t.client.put({ key: `${p}k${(w + i) % 5}`, value: `${w}-${i}` });
        });
        await Promise.all(writers);
        const eventsOf = (responses: WatchResponse[], id: string): Event[] =>
          responses.filter((r) => r.watch_id === id).flatMap((r) => r.events);
        const { responses } = await stream.collect(
          (_events, responses) => eventsOf(responses, all).length >= 500 && eventsOf(responses, one).length >= 100,
          30_000,
        );
        const revisions = eventsOf(responses, all).map((e) => Number(e.kv!.mod_revision));
        assert.deepEqual(revisions, Array.from({ length: 500 }, (_, i) => r0 + 1 + i));
        const k3 = eventsOf(responses, one);
        assert.equal(k3.length, 100);
        assert.deepEqual(k3.map((e) => Number(e.kv!.version)), Array.from({ length: 100 }, (_, i) => i + 1));
        const k3Revisions = k3.map((e) => Number(e.kv!.mod_revision));
        assert.deepEqual(k3Revisions, [...k3Revisions].sort((x, y) => x - y));
        await stream.expectSilence(300);
        stream.close();
      });
    });
  }
});
