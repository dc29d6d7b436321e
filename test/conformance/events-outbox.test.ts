// The transactional outbox on each store — PGlite, a real PostgreSQL, and etcd (real etcd and coord
// store) — with the relay and idempotent consumers, the same assertions on each.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { connect, type Coord } from '../../src/coord.ts';
import { compare, op } from '../../src/client/etcd-client.ts';
import { idempotent, migrateProcessed } from '../../src/events/consumer-idempotent.ts';
import { etcdEngine } from '../../src/events/engine-etcd.ts';
import type { EventEngine, EventRecord } from '../../src/events/event.ts';
import { EtcdOutbox, PostgresOutbox, type NewEvent, type OutboxSource } from '../../src/events/outbox.ts';
import { startRelay } from '../../src/events/outbox-relay.ts';
import { fromPGlite, fromPg, type SqlDatabase } from '../../src/events/sql.ts';
import { backends } from '../helpers/backends.ts';
import { requirePostgres, startPostgres } from '../helpers/postgres-process.ts';
import { until } from '../helpers/events-scenario.ts';

interface Fixture {
  coord: Coord;
  engine: EventEngine;
  outbox: OutboxSource;
  /** Commits `events` (or rolls them back) the way this store's users add them. */
  add(events: NewEvent[], commit: boolean): Promise<void>;
  /** The database idempotent consumers record into (SQL stores only). */
  db?: SqlDatabase;
  stop(): Promise<void>;
}

interface Store {
  name: string;
  skip: string | undefined;
  start(): Promise<Fixture>;
}

const [etcdBackend, storeBackend] = backends();

async function withCoord(backend = storeBackend) {
  const server = await backend.start();
  const coord = connect({ endpoints: server.endpoint });
  return { server, coord, engine: etcdEngine(coord) };
}

function sqlStore(name: string, skip: string | undefined, open: () => Promise<{ db: SqlDatabase; close(): Promise<void> }>): Store {
  return {
    name,
    skip,
    async start() {
      const { server, coord, engine } = await withCoord();
      const { db, close } = await open();
      const outbox = new PostgresOutbox(db);
      await outbox.migrate();
      await migrateProcessed(db);
      await db.query('CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY)');
      return {
        coord,
        engine,
        outbox,
        db,
        async add(events, commit) {
          await db
            .transaction(async (tx) => {
              for (const e of events) await tx.query('INSERT INTO orders (id) VALUES ($1)', [e.key]);
              await outbox.add(tx, events);
              if (!commit) throw new Error('rolled back');
            })
            .catch((e: Error) => assert.equal(e.message, 'rolled back'));
        },
        stop: async () => (await engine.close(), await coord.close(), await close(), await server.stop()),
      };
    },
  };
}

function stores(): Store[] {
  return [
    sqlStore('PGlite', undefined, async () => {
      const lite = new PGlite();
      return { db: fromPGlite(lite), close: () => lite.close() };
    }),
    sqlStore('PostgreSQL', requirePostgres(), async () => {
      const server = await startPostgres();
      const pool = new pg.Pool({ connectionString: server.url, max: 4 });
      return { db: fromPg(pool), close: async () => (await pool.end(), await server.stop()) };
    }),
    ...[etcdBackend, storeBackend].map((b) => ({
      name: `etcd outbox on ${b.name}`,
      skip: b.skip,
      async start(): Promise<Fixture> {
        const { server, coord, engine } = await withCoord(b);
        const outbox = new EtcdOutbox(coord, 'shop');
        return {
          coord,
          engine,
          outbox,
          async add(events, commit) {
            // The change and its events in one txn: when its compare fails, neither is written.
            const r = await coord.etcd.txn({
              compare: [compare.createRevision(`${coord.namespace}test/guard`, commit ? '=' : '>', 0)],
              success: [...events.map((e) => op.put(`${coord.namespace}test/orders/${e.key}`, 'x')), ...events.map((e) => outbox.op(e))],
            });
            assert.equal(r.succeeded, commit);
          },
          stop: async () => (await engine.close(), await coord.close(), await server.stop()),
        };
      },
    })),
  ];
}

let n = 0;
const topic = () => `orders${++n}`;
const newEvent = (t: string, key: string): NewEvent => ({ topic: t, type: 'OrderCreated', key, data: { key } });


for (const s of stores()) {
  describe(s.name, { skip: s.skip }, () => {
    let f: Fixture;
    before(async () => (f = await s.start()));
    after(() => f?.stop());

    test('committed events are relayed in outbox order; rolled-back ones never; the backlog drains to 0', async () => {
      const t = topic();
      await f.add([newEvent(t, 'o1'), newEvent(t, 'o2')], true);
      await f.add([newEvent(t, 'gone')], false);
      await f.add([newEvent(t, 'o3')], true);
      const seen: string[] = [];
      const sub = f.engine.subscribe(t, 'g', async (d) => void seen.push(d.key));
      const relay = startRelay({ coord: f.coord, outbox: f.outbox, engine: f.engine, name: `r-${t}` });
      await until('3 events', () => seen.length >= 3);
      await until('backlog 0', async () => (await f.outbox.backlog()).count === 0);
      assert.equal(relay.stats().published, 3);
      await relay.close();
      await sub.close();
      assert.deepEqual(seen, ['o1', 'o2', 'o3']);
    });

    test('a batch larger than etcd takes in one txn (300) is relayed and marked sent; an unset batch keeps the default', async () => {
      const t = topic();
      const events = Array.from({ length: 300 }, (_, i) => newEvent(t, `b${i}`));
      for (let i = 0; i < events.length; i += 50) await f.add(events.slice(i, i + 50), true); // an etcd add is 2 ops per event, at most 128 per txn
      const seen = new Set<string>();
      const sub = f.engine.subscribe(t, 'g', async (d) => void seen.add(d.key));
      const relay = startRelay({ coord: f.coord, outbox: f.outbox, engine: f.engine, name: `r-${t}`, batch: 300 });
      await until('300 events', () => seen.size === 300, 60_000);
      await until('backlog 0', async () => (await f.outbox.backlog()).count === 0, 60_000);
      await relay.close();
      await sub.close();
      // `batch: undefined` (an options object built from optional config) means the default.
      const again = startRelay({ coord: f.coord, outbox: f.outbox, engine: f.engine, name: `r-${t}-2`, batch: undefined });
      await again.close();
      assert.throws(() => startRelay({ coord: f.coord, outbox: f.outbox, engine: f.engine, name: 'bad', batch: 0 }), /batch must be an integer from 1 to 10000 \(got 0\)/);
    });

    test('a relay that dies between publishing and marking sent publishes again; the engine drops the duplicates', async () => {
      const t = topic();
      await f.add([newEvent(t, 'a'), newEvent(t, 'b')], true);
      let crashes = 1;
      const crashing: OutboxSource = {
        pending: (l) => f.outbox.pending(l),
        backlog: () => f.outbox.backlog(),
        async markSent(refs) {
          if (crashes-- > 0) throw new Error('relay killed before marking sent');
          await f.outbox.markSent(refs);
        },
      };
      const seen: string[] = [];
      const sub = f.engine.subscribe(t, 'g', async (d) => void seen.push(d.id));
      const relay = startRelay({ coord: f.coord, outbox: crashing, engine: f.engine, name: `r-${t}` });
      await until('backlog 0', async () => (await f.outbox.backlog()).count === 0);
      await until('2 events', () => seen.length >= 2);
      assert.equal(relay.stats().errors, 1);
      await relay.close();
      await sub.close();
      assert.equal(new Set(seen).size, 2);
      assert.equal(seen.length, 2, `each event once: ${seen.join(', ')}`);
    });

    test('one relay at a time across clients; when it closes, another takes over', async () => {
      const t = topic();
      const other = connect({ endpoints: f.coord.etcd.endpoints });
      const seen: string[] = [];
      const sub = f.engine.subscribe(t, 'g', async (d) => void seen.push(d.key));
      const r1 = startRelay({ coord: f.coord, outbox: f.outbox, engine: f.engine, name: `r-${t}` });
      await until('r1 leads', () => r1.stats().leader);
      const r2 = startRelay({ coord: other, outbox: f.outbox, engine: f.engine, name: `r-${t}` });
      await f.add([newEvent(t, 'x1')], true);
      await until('x1', () => seen.includes('x1'));
      assert.equal(r2.stats().leader, false);
      await r1.close();
      await until('r2 leads', () => r2.stats().leader);
      await f.add([newEvent(t, 'x2')], true);
      await until('x2', () => seen.includes('x2'));
      await r2.close();
      await sub.close();
      await other.close();
      assert.deepEqual(seen, ['x1', 'x2']);
    });

    // Idempotent consumers record into a SQL database: the SQL stores only.
    if (s.name.startsWith('P')) test('an idempotent consumer applies an event once however often it arrives', async () => {
      const db = f.db!;
      await db.query('CREATE TABLE IF NOT EXISTS shipped (order_id TEXT PRIMARY KEY, times INT NOT NULL)');
      const handler = idempotent<{ key: string }>(db, 'shipping', async (event, tx) => {
        await tx.query('INSERT INTO shipped (order_id, times) VALUES ($1, 1) ON CONFLICT (order_id) DO UPDATE SET times = shipped.times + 1', [event.key]);
      });
      const event: EventRecord<{ key: string }> = { id: 'evt-1', topic: 'orders', type: 'OrderPaid', key: 'o-9', data: { key: 'o-9' }, time: new Date().toISOString() };
      const signal = new AbortController().signal;
      for (let attempt = 1; attempt <= 3; attempt++) await handler({ ...event, attempt }, signal);
      const { rows } = await db.query<{ times: number }>('SELECT times FROM shipped WHERE order_id = $1', ['o-9']);
      assert.deepEqual(rows.map((r) => Number(r.times)), [1]);
      // An effect that fails records nothing: the next delivery runs it again.
      const failing = idempotent(db, 'billing', async () => {
        throw new Error('bank down');
      });
      await assert.rejects(failing({ ...event, attempt: 1 }, signal), /bank down/);
      const { rows: processed } = await db.query('SELECT 1 FROM coord_processed_events WHERE consumer = $1', ['billing']);
      assert.equal(processed.length, 0);
    });
  });
}
