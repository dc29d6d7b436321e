// The client's watches ask for progress notifications: when a watch has caught up, the server
// tells it the current revision now and then, and a resume after a reconnect starts there. So a
// quiet watch on a busy cluster does not replay every other key's changes on each reconnect, and
// does not die 'compacted' when history it never needed was compacted meanwhile (issue 22, item 3).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EtcdClient } from '../../src/client/etcd-client.ts';
import { backends } from '../helpers/backends.ts';
import { eventually } from '../helpers/conformance.ts';
import { FaultProxy } from '../helpers/fault-proxy.ts';
import { patience } from '../helpers/patience.ts';

for (const b of backends()) {
  describe(`client watch resume point (${b.name})`, { skip: b.skip }, () => {
    it('advances with progress notifications, so a resume after compaction of other keys carries on', async () => {
      const server = await b.start({ watchProgressNotifyIntervalMs: 300 });
      const proxy = await FaultProxy.start(server.endpoint);
      const writer = new EtcdClient({ endpoints: server.endpoint });
      const client = new EtcdClient({ endpoints: proxy.endpoint });
      try {
        const key = 'progress-resume/watched';
        const w = client.watches.watch(key);
        const got: string[] = [];
        const errors: string[] = [];
        w.onEvents((batch) => got.push(...batch.events.map((e) => e.kv.value.toString())));
        w.onError((e) => errors.push(e.message));
        await eventually('the watch to be created', async () => (w.created ? true : undefined), { timeoutMs: patience(10_000) });
        await writer.put(key, 'first');
        await eventually('the first event', async () => (got.length === 1 ? true : undefined), { timeoutMs: patience(10_000) });

        // Twenty changes elsewhere: the watch's last event falls behind the head.
        let head = 0;
        for (let i = 0; i < 20; i++) head = (await writer.put('progress-resume/other', String(i))).revision;
        await eventually(`a progress notification moving the resume point past ${head}`, async () => ((w.nextRev ?? 0) > head ? true : undefined), { timeoutMs: patience(10_000) });
        await writer.compact(head);

        proxy.reset(); // the stream breaks; the client re-creates the watch from its resume point
        proxy.pass();
        await writer.put(key, 'second');
        await eventually('the event after the reconnect, or an error', async () => (got.includes('second') || errors.length > 0 ? true : undefined), { timeoutMs: patience(20_000) });
        assert.deepEqual(errors, []);
        assert.deepEqual(got, ['first', 'second']);
      } finally {
        client.close();
        writer.close();
        await proxy.close();
        await server.stop();
      }
    });
  });
}
