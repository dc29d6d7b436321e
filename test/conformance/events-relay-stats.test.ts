// The relay's backlog made visible: every relay instance publishes its report under the client's
// lease at `<ns>events/outbox/<outbox>/<instance>` and exports `coord_outbox_*` metrics labelled
// `outbox`; a failing measurement is a log line and a metric, and is retried. On real etcd and on
// coord store, with the etcd outbox and the etcd engine.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { connect, type Coord } from '../../src/coord.ts';
import { etcdEngine } from '../../src/events/engine-etcd.ts';
import { EtcdOutbox, type OutboxSource } from '../../src/events/outbox.ts';
import { startRelay, type RelayReport } from '../../src/events/outbox-relay.ts';
import { readRelayReports } from '../../src/events/relay-reports.ts';
import { backends, type RunningBackend } from '../helpers/backends.ts';
import { until } from '../helpers/events-scenario.ts';


/** The value of one sample line of the exposition, e.g. `coord_outbox_backlog{outbox="shop"}`. */
async function sample(registry: Registry, series: string): Promise<number | undefined> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

for (const b of backends()) {
  describe(`outbox relay stats on ${b.name}`, { skip: b.skip }, () => {
    let server: RunningBackend;
    let n = 0;
    const clients: Coord[] = [];
    before(async () => (server = await b.start()));
    after(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await server?.stop();
    });
    const client = (ns: string) => {
      const c = connect({ endpoints: server.endpoint, namespace: ns });
      clients.push(c);
      return c;
    };

    test('backlog, oldest age, sent and leadership are published to etcd and as metrics; the key goes on close', async () => {
      const ns = `/relay-stats-${++n}/`;
      const coord = client(ns);
      const engine = etcdEngine(coord);
      const outbox = new EtcdOutbox(coord, 'shop');
      const registry = new Registry();
      // Another instance holds the relay's election: this relay waits as a standby, so the backlog stays.
      const blocker = await client(ns).campaign('outbox-relay/shop', 'other-instance');
      const old = new Date(Date.now() - 60_000).toISOString();
      await coord.etcd.txn({ success: [1, 2, 3].map((i) => outbox.op({ topic: 'orders', type: 'OrderCreated', key: `o-${i}`, data: { i }, time: i === 1 ? old : undefined })) });
      const relay = startRelay({ coord, outbox, engine, name: 'shop', instance: 'shop-a', statsIntervalMs: 100, registry });
      const key = `${ns}events/outbox/shop/shop-a`;
      const waiting = await until('a report with backlog 3', async () => {
        const kv = await coord.etcd.get(key);
        const r = kv && (JSON.parse(kv.value.toString()) as RelayReport);
        return r && r.backlog === 3 ? { r, kv } : undefined;
      });
      const { oldestAgeSeconds, updated, ...rest } = waiting.r;
      assert.deepEqual(rest, { outbox: 'shop', instance: 'shop-a', leader: false, backlog: 3, sent: 0, errors: 0 });
      assert.ok(oldestAgeSeconds >= 60 && oldestAgeSeconds < 3600, `the oldest event is a minute old: ${oldestAgeSeconds}`);
      assert.ok(Date.parse(updated) > Date.now() - 3600_000, updated);
      assert.notEqual(waiting.kv.lease, '0', 'published under a lease');
      assert.equal(await sample(registry, 'coord_outbox_backlog{outbox="shop"}'), 3);
      assert.ok((await sample(registry, 'coord_outbox_oldest_age_seconds{outbox="shop"}'))! >= 60);
      assert.equal(await sample(registry, 'coord_outbox_relay_leader{outbox="shop"}'), 0);
      assert.deepEqual((await readRelayReports(coord)).map((r) => [r.outbox, r.instance, 'backlog' in r && r.backlog]), [['shop', 'shop-a', 3]]);

      await blocker.resign();
      const sent = await until('a report with backlog 0 after relaying', async () => {
        const kv = await coord.etcd.get(key);
        const r = kv && (JSON.parse(kv.value.toString()) as RelayReport);
        return r && r.backlog === 0 && r.leader ? r : undefined;
      });
      assert.deepEqual([sent.sent, sent.oldestAgeSeconds], [3, 0]);
      assert.equal(await sample(registry, 'coord_outbox_sent_total{outbox="shop"}'), 3);
      assert.equal(await sample(registry, 'coord_outbox_backlog{outbox="shop"}'), 0);
      assert.equal(await sample(registry, 'coord_outbox_relay_leader{outbox="shop"}'), 1);
      assert.deepEqual((await engine.tail('orders', 10)).map((e) => e.key), ['o-1', 'o-2', 'o-3']);

      await relay.close();
      assert.equal(await coord.etcd.get(key), undefined, 'the report is removed on close');
      assert.equal(await sample(registry, 'coord_outbox_backlog{outbox="shop"}'), undefined, 'a closed relay leaves the gauges');
      assert.equal(await sample(registry, 'coord_outbox_sent_total{outbox="shop"}'), 3, 'the counter stays');
    });

    test('a failing measurement is a log line and a metric, and is retried', async () => {
      const ns = `/relay-stats-${++n}/`;
      const coord = client(ns);
      const outbox = new EtcdOutbox(coord, 'shop');
      const registry = new Registry();
      let failures = 2;
      const flaky: OutboxSource = {
        pending: (limit) => outbox.pending(limit),
        markSent: (refs) => outbox.markSent(refs),
        async backlog() {
          if (failures-- > 0) throw new Error('database unreachable');
          return outbox.backlog();
        },
      };
      const lines: string[] = [];
      // The relay waits as a standby so that only the stats loop measures the backlog.
      const blocker = await client(ns).campaign('outbox-relay/shop', 'other-instance');
      const relay = startRelay({ coord, outbox: flaky, engine: etcdEngine(coord), name: 'shop', instance: 'shop-a', statsIntervalMs: 100, registry, log: (l) => lines.push(l) });
      await until('a report', () => coord.etcd.get(`${ns}events/outbox/shop/shop-a`));
      assert.deepEqual(lines, [
        'outbox relay shop: stats not published (database unreachable); again in 100 ms',
        'outbox relay shop: stats not published (database unreachable); again in 100 ms',
      ]);
      assert.equal(await sample(registry, 'coord_outbox_stats_errors_total{outbox="shop"}'), 2);
      await relay.close();
      await blocker.resign();
    });
  });
}
