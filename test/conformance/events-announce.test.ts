// announceEngine() / openAnnouncedEngine(): the CLI and the dashboard find the services' events
// engine through `<ns>events/engine`, on real etcd and on coord store (the NATS half with a real
// nats-server -js).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type Coord } from '../../src/coord.ts';
import { isCoordError } from '../../src/core/errors.ts';
import { announceEngine, openAnnouncedEngine, readAnnouncement } from '../../src/events/announce.ts';
import { etcdEngine } from '../../src/events/engine-etcd.ts';
import { natsEngine } from '../../src/events/engine-nats.ts';
import { backends, type RunningBackend } from '../helpers/backends.ts';
import { requireNats, startNats, type NatsProcess } from '../helpers/nats-process.ts';

const event = (topic: string, id: string) => ({ id, topic, type: 'Happened', key: 'k', data: {}, time: new Date().toISOString() });

for (const b of backends()) {
  describe(`announced events engine on ${b.name}`, { skip: b.skip }, () => {
    let server: RunningBackend;
    let n = 0;
    const clients: Coord[] = [];
    before(async () => (server = await b.start()));
    after(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await server?.stop();
    });
    const client = () => {
      const c = connect({ endpoints: server.endpoint, namespace: `/announce-${++n}/` });
      clients.push(c);
      return c;
    };

    test('nothing announced: not-found naming the key and how to announce', async () => {
      const coord = client();
      await assert.rejects(openAnnouncedEngine(coord), (e) => {
        assert.ok(isCoordError(e, 'not-found'));
        assert.equal(
          (e as Error).message,
          `no events engine is announced at ${coord.namespace}events/engine: the services announce theirs with announceEngine(coord, engine) from etcd-coord/events (or give the NATS servers: coord events --nats host:port)`,
        );
        return true;
      });
      assert.equal(await readAnnouncement(coord), undefined);
    });

    test('the etcd engine: {"engine":"etcd"}, written once, opens an engine over the same keys', async () => {
      const coord = client();
      const engine = etcdEngine(coord);
      assert.deepEqual(await announceEngine(coord, engine), { engine: 'etcd' });
      const kv = await coord.etcd.get(`${coord.namespace}events/engine`);
      assert.equal(kv?.value.toString(), '{"engine":"etcd"}');
      await announceEngine(coord, engine);
      assert.equal((await coord.etcd.get(`${coord.namespace}events/engine`))?.modRevision, kv?.modRevision, 'the same announcement is not written again');
      await engine.publish([event('orders', 'o-1')]);
      // Another client in the same namespace (the CLI's) finds it.
      const cli = connect({ endpoints: server.endpoint, namespace: coord.namespace });
      clients.push(cli);
      const opened = await openAnnouncedEngine(cli);
      assert.equal(opened.name, 'etcd');
      assert.deepEqual(await opened.topics(), ['orders']);
      assert.deepEqual((await opened.tail('orders', 5)).map((e) => e.id), ['o-1']);
      await opened.close();
    });

    test('a key that is not an announcement: invalid-argument quoting it', async () => {
      const coord = client();
      await coord.etcd.put(`${coord.namespace}events/engine`, 'kafka please');
      await assert.rejects(openAnnouncedEngine(coord), (e) => isCoordError(e, 'invalid-argument') && (e as Error).message.startsWith(`${coord.namespace}events/engine holds "kafka please", not an engine announcement`));
    });

    describe('the NATS engine', { skip: requireNats() }, () => {
      let nats: NatsProcess;
      before(async () => (nats = await startNats()));
      after(() => nats?.stop());

      test('{"engine":"nats-jetstream","servers":[…]} opens the NATS engine on those servers; nats: overrides', async () => {
        const coord = client();
        const engine = await natsEngine({ servers: nats.endpoint });
        try {
          assert.deepEqual(await announceEngine(coord, engine), { engine: 'nats-jetstream', servers: [nats.endpoint] });
          assert.equal((await coord.etcd.get(`${coord.namespace}events/engine`))?.value.toString(), `{"engine":"nats-jetstream","servers":["${nats.endpoint}"]}`);
          await engine.publish([event('payments', 'p-1')]);
          const opened = await openAnnouncedEngine(coord);
          assert.equal(opened.name, 'nats-jetstream');
          assert.deepEqual((await opened.tail('payments', 5)).map((e) => e.id), ['p-1']);
          await opened.close();

          // `nats` wins over an etcd announcement.
          const other = client();
          await announceEngine(other, etcdEngine(other));
          const forced = await openAnnouncedEngine(other, { nats: nats.endpoint });
          assert.equal(forced.name, 'nats-jetstream');
          assert.ok((await forced.topics()).includes('payments'));
          await forced.close();
        } finally {
          await engine.close();
        }
      });
    });
  });
}
