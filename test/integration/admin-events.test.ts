// The admin API's events routes against what services left in the engine: the embedded engine on
// coord store and on a real etcd, and NATS JetStream (a real nats-server -js) announced in coord
// store. The overview's figures are engine.stats() and the relays' reports; re-drive goes through
// the API's token and read-only checks; with etcd gone the overview shows the last figures read.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAdmin, type AdminHandle, type EventsOverview } from '../../src/admin/index.ts';
import { connect, type Coord } from '../../src/coord.ts';
import { announceEngine } from '../../src/events/announce.ts';
import { etcdEngine } from '../../src/events/engine-etcd.ts';
import { natsEngine } from '../../src/events/engine-nats.ts';
import type { EventEngine, EventRecord } from '../../src/events/event.ts';
import { requireNats, startNats, type NatsProcess } from '../helpers/nats-process.ts';
import { http, servers, type Server } from './admin-fixture.ts';
import { groupsWithLag, until, waitingRelay } from '../helpers/events-scenario.ts';

interface Setup {
  name: string;
  skip: string | undefined;
  server: (typeof servers)[number];
  nats: boolean;
}

const setups: Setup[] = [
  ...servers.map((s) => ({ name: `the etcd engine on ${s.name}`, skip: s.skip, server: s, nats: false })),
  { name: 'NATS JetStream announced in coord store', skip: requireNats(), server: servers[0], nats: true },
];

const TIME = '2026-01-02T03:04:05.000Z';
const order = (i: number): EventRecord => ({ id: `o-${i}`, topic: 'orders', type: 'OrderCreated', key: `o-${i}`, data: { n: i }, time: TIME });


for (const setup of setups) {
  describe(`admin API events routes with ${setup.name}`, { skip: setup.skip }, () => {
    let server: Server | undefined;
    let nats: NatsProcess | undefined;
    const closers: Array<() => Promise<unknown>> = [];
    before(async () => {
      [server, nats] = await Promise.all([setup.server.start(), setup.nats ? startNats() : undefined]);
    });
    after(async () => {
      for (const c of closers.reverse()) await c();
      await server?.stop();
      await nats?.stop();
    });
    const admin = async (ns: string, o: { readOnly?: boolean; token?: string } = {}): Promise<AdminHandle> => {
      const a = await startAdmin({ endpoints: server!.endpoint, namespace: ns, dashboard: false, instanceMetrics: false, requestTimeoutMs: 1000, ...o });
      closers.push(() => a.close());
      return a;
    };
    const client = (ns: string): Coord => {
      const c = connect({ endpoints: server!.endpoint, namespace: ns });
      closers.push(() => c.close());
      return c;
    };
    const engineFor = async (coord: Coord): Promise<EventEngine> => {
      const e = setup.nats ? await natsEngine({ servers: nats!.endpoint }) : etcdEngine(coord);
      closers.push(() => e.close());
      return e;
    };

    it('nothing announced: no engine, the reason, and no figures', async () => {
      const a = await admin('/admin-events-none/');
      const r = await http<EventsOverview>(a.url, 'GET', '/api/event-engine');
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, {
        engine: null,
        engineError: 'no events engine is announced at /admin-events-none/events/engine: the services announce theirs with announceEngine(coord, engine) from etcd-coord/events (or give the NATS servers: coord events --nats host:port)',
        topics: [],
        outboxes: [],
      });
      const tail = await http(a.url, 'GET', '/api/event-engine/topics/orders/tail');
      assert.equal(tail.status, 404);
    });

    it('events: { nats } shows those servers whatever is announced', { skip: setup.nats ? undefined : 'the NATS setup only' }, async () => {
      const engine = await natsEngine({ servers: nats!.endpoint });
      closers.push(() => engine.close());
      await engine.publish([{ ...order(1), topic: 'payments' }]);
      const a = await startAdmin({ endpoints: server!.endpoint, namespace: '/admin-events-given/', dashboard: false, instanceMetrics: false, events: { nats: nats!.endpoint } });
      closers.push(() => a.close());
      const r = await http<EventsOverview>(a.url, 'GET', '/api/event-engine');
      assert.deepEqual(r.body, { engine: { name: 'nats-jetstream', servers: [nats!.endpoint] }, topics: [{ topic: 'payments', events: 1, groups: [] }], outboxes: [] });
    });

    it('overview, tail, dead letters, re-drive (token and read-only checked); the last figures while etcd is down', async () => {
      const ns = '/admin-events/';
      const lib = client(ns);
      const engine = await engineFor(lib);
      await announceEngine(lib, engine);
      const a = await admin(ns);

      const seen = await groupsWithLag(engine, order);

      const { relay, reports } = await waitingRelay(lib, engine, ['o-9'], closers);

      const overview = await http<EventsOverview>(a.url, 'GET', '/api/event-engine');
      assert.equal(overview.status, 200);
      const stats = await engine.stats('orders');
      assert.deepEqual(overview.body, {
        engine: setup.nats ? { name: 'nats-jetstream', servers: [nats!.endpoint] } : { name: 'etcd' },
        topics: [{ ...stats, groups: [...stats.groups].sort((x, y) => x.group.localeCompare(y.group)) }, ...(setup.nats ? [{ topic: 'payments', events: 1, groups: [] }] : [])],
        outboxes: reports,
      });
      assert.deepEqual(overview.body.topics.find((x) => x.topic === 'orders')!.groups, [
        { group: 'mail', pending: 1, deadLetters: 0 },
        { group: 'pay', pending: 1, deadLetters: 1 },
      ]);
      assert.deepEqual((reports[0] as { backlog: number }).backlog, 1);

      const tail = await http(a.url, 'GET', '/api/event-engine/topics/orders/tail?limit=2');
      assert.deepEqual([tail.status, tail.body], [200, { topic: 'orders', events: [order(3), order(4)] }]);
      const dead = await http(a.url, 'GET', '/api/event-engine/dead-letters');
      assert.deepEqual([dead.status, dead.body], [200, { deadLetters: await engine.deadLetters('orders') }]);
      assert.deepEqual((await http(a.url, 'GET', '/api/event-engine/dead-letters?topic=orders&group=mail')).body, { deadLetters: [] });
      const bad = await http(a.url, 'GET', '/api/event-engine/topics/Orders/tail?limit=0');
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error, 'invalid-argument');

      const path = '/api/event-engine/topics/orders/groups/pay/dead-letters/o-2/redrive';
      const readOnly = await admin(ns, { readOnly: true });
      const refused = await http(readOnly.url, 'POST', path);
      assert.deepEqual([refused.status, refused.body.error], [403, 'read-only']);
      const guarded = await admin(ns, { token: 's3cret' });
      assert.equal((await http(guarded.url, 'POST', path)).status, 401);
      assert.equal((await engine.deadLetters('orders', 'pay')).length, 1, 'refused re-drives changed nothing');
      const redrive = await http(guarded.url, 'POST', path, { headers: { authorization: 'Bearer s3cret' } });
      assert.deepEqual([redrive.status, redrive.body], [200, { redriven: { topic: 'orders', group: 'pay', id: 'o-2' } }]);
      const again = engine.subscribe('orders', 'pay', async (d) => void seen.pay.push(d.id));
      await until('the re-driven event handled', () => seen.pay.includes('o-2') && seen.pay.includes('o-4'));
      await again.close();
      assert.deepEqual((await http(a.url, 'GET', '/api/event-engine/dead-letters?topic=orders')).body, { deadLetters: [] });
      const twice = await http(a.url, 'POST', path);
      assert.deepEqual([twice.status, twice.body], [404, { error: 'not-found', message: 'no dead letter o-2 for orders/pay' }]);

      // etcd goes: the overview shows the last figures read (NATS, still up, stays current).
      const before = (await http<EventsOverview>(a.url, 'GET', '/api/event-engine')).body;
      await relay.close();
      await server!.stop();
      server = undefined;
      const down = (await http<EventsOverview>(a.url, 'GET', '/api/event-engine')).body;
      assert.deepEqual(down.outboxes, before.outboxes);
      assert.ok(down.outboxesAsOf && down.outboxesError, `outboxes marked last known: ${JSON.stringify(down)}`);
      assert.deepEqual(down.topics, before.topics);
      assert.deepEqual(down.engine, before.engine);
      if (setup.nats) assert.equal(down.topicsAsOf, undefined, 'NATS answers: its figures are current');
      else assert.ok(down.topicsAsOf && down.engineError, `topics marked last known: ${JSON.stringify(down)}`);
    });
  });
}
