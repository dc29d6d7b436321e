// The hub between a write being applied in memory and its fsync: replies that are not events must
// not name the not-yet-durable revision, and a watcher created in that window still gets the
// write's events once they are durable (they are after the revision its created reply named).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Mvcc, type MvccEvent } from './mvcc.ts';
import { WatchHub, type WatchResponseMsg } from './watch-hub.ts';

const noLeases = { attach() {}, detach() {} };

/** Runs the hub's sync ticks until no watcher is left catching up. */
async function drainHub(hub: WatchHub): Promise<void> {
  while (hub.unsyncedCount > 0) await new Promise((resolve) => setImmediate(resolve));
}

function setup() {
  const mvcc = new Mvcc(noLeases);
  const hub = new WatchHub(mvcc, { progressIntervalMs: 60_000, maxResponseBytes: 1 << 20 });
  const write = (key: string, value: string): MvccEvent[] => {
    mvcc.put(key, Buffer.from(key), Buffer.from(value), 0n);
    return mvcc.end();
  };
  const sent: WatchResponseMsg[] = [];
  const stream = hub.openStream((r) => sent.push(r));
  const drain = () => drainHub(hub);
  const watch = (key: string, startRevision = 0) =>
    stream.create({ key: Buffer.from(key), range_end: Buffer.alloc(0), start_revision: String(startRevision), progress_notify: false, filters: [], prev_kv: false, watch_id: '0', fragment: false });
  return { mvcc, hub, write, sent, stream, watch, drain };
}

describe('watch hub headers while a write awaits its fsync', () => {
  it('created and progress replies name the durable revision, not the applied one', () => {
    const { mvcc, hub, write, sent, stream, watch } = setup();
    hub.publish(write('a', '1')); // revision 2, durable
    const pending = write('a', '2'); // revision 3, applied, fsync outstanding
    assert.equal(mvcc.rev, 3);
    watch('a');
    stream.progress();
    assert.deepEqual(sent.map((r) => [r.created ?? false, r.header.revision]), [[true, 2], [false, 2]]);
    hub.close();
    void pending;
  });

  it('a watcher created in that window gets the write once it is durable', () => {
    const { hub, write, sent, watch } = setup();
    hub.publish(write('a', '1'));
    const pending = write('a', '2');
    watch('a');
    hub.publish(pending);
    const events = sent.filter((r) => r.events || r.encodedEvents);
    assert.equal(events.length, 1);
    assert.equal(events[0].header.revision, 3);
    hub.close();
  });

  it('replayed events carry the durable revision at send time', async () => {
    const { hub, write, sent, watch, drain } = setup();
    hub.publish(write('a', '1'));
    hub.publish(write('b', '1'));
    hub.publish(write('b', '2'));
    write('a', '2'); // applied, not durable: neither replayed nor named
    watch('a', 1);
    await drain();
    const replay = sent.filter((r) => r.events);
    assert.equal(replay.length, 1);
    assert.equal(replay[0].header.revision, 4);
    assert.deepEqual(replay[0].events!.length, 1);
    hub.close();
  });
});
