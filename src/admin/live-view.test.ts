import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoordError } from '../core/errors.ts';
import { Emitter } from '../core/events.ts';
import type { EtcdClient, KeyValue } from '../client/etcd-client.ts';
import type { WatchBatch } from '../client/watch-manager.ts';
import { LiveView } from './live-view.ts';

/**
 * Just enough of an etcd client for the mirror: one read txn over a key map, and watches whose
 * events and failures the test injects.
 */
function fakeEtcd() {
  const keys = new Map<string, KeyValue>();
  let revision = 1;
  const events = new Emitter<WatchBatch>();
  const errors = new Emitter<CoordError>();
  const client = {
    requestTimeoutMs: 1000,
    async status() {
      return { revision };
    },
    async txn(t: { success: Array<{ request_range: { key: Buffer } }> }) {
      const responses = t.success.map((o) => {
        const prefix = o.request_range.key.toString();
        return { kvs: [...keys.values()].filter((kv) => kv.key.startsWith(prefix)) };
      });
      return { succeeded: true, revision, responses };
    },
    watches: {
      watch() {
        return { onEvents: events.on, onError: errors.on, onState: () => ({ dispose() {} }), close() {} };
      },
    },
  };
  const put = (key: string, value = '', lease = '7') => {
    revision++;
    const prev = keys.get(key);
    const kv = { key, value: Buffer.from(value), createRevision: prev?.createRevision ?? revision, modRevision: revision, version: (prev?.version ?? 0) + 1, lease };
    keys.set(key, kv);
    return kv;
  };
  return { client: client as unknown as EtcdClient, keys, put, events, errors, revision: () => revision };
}

describe('LiveView', () => {
  it('turns watched changes into feed events and hold times', async () => {
    const etcd = fakeEtcd();
    etcd.put('/n/locks/job/a');
    const live = new LiveView(etcd.client, '/n/', () => {});
    await live.mirror.ready;
    const [holder] = live.mirror.list('locks');
    assert.deepEqual(live.tracker.holderSince(holder), { at: live.mirror.since, exact: false }, 'held before the dashboard looked');

    const b = etcd.put('/n/locks/job/b');
    etcd.events.emit({ events: [{ type: 'put', kv: b }], revision: b.modRevision });
    etcd.keys.delete('/n/locks/job/a');
    etcd.events.emit({ events: [{ type: 'delete', kv: { ...holder, value: Buffer.alloc(0), createRevision: 0, modRevision: etcd.revision() + 1 } }], revision: etcd.revision() + 1 });
    assert.deepEqual(
      live.feed.recent().map((e) => [e.kind, e.summary]).reverse(),
      [
        ['queued', 'lease b waits for lock job'],
        ['released', 'lease a released lock job'],
        ['acquired', `lease b acquired lock job, fencing token ${b.createRevision}`],
      ],
    );
    assert.equal(live.tracker.holderSince(live.mirror.list('locks')[0])?.exact, true);
    live.close();
  });

  it('re-reads after the watch cannot resume, and reports the difference with unknown times', async () => {
    const etcd = fakeEtcd();
    etcd.put('/n/elections/e/a', 'first');
    const live = new LiveView(etcd.client, '/n/', () => {});
    await live.mirror.ready;
    assert.equal(live.tracker.history('e').length, 1);

    // While the watch was down the leader resigned and another candidate took over.
    etcd.keys.delete('/n/elections/e/a');
    etcd.put('/n/elections/e/b', 'second');
    etcd.errors.emit(new CoordError('compacted', 'watch cannot resume: compacted'));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(live.mirror.connected, true);
    assert.deepEqual(live.mirror.list('elections').map((k) => k.value.toString()), ['second']);
    const [now, before] = live.tracker.history('e');
    assert.deepEqual([now.value, now.from.exact, now.to, before.value], ['second', false, null, 'first']);
    assert.ok(before.to);
    const kinds = live.feed.recent().map((e) => e.kind).reverse();
    assert.deepEqual(kinds, ['resync', 'resigned', 'elected']);
    live.close();
  });
});
