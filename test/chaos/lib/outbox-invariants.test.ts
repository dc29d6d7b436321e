// The outbox chaos checker has teeth: on a real PostgreSQL with the tables CONTRACTS.md names, a
// consistent shop state passes, and each kind of damage (an open order, lost stock, a second
// charge, an unrefunded cancellation, an unsent outbox row, a lost notification, a missing
// acknowledged order) is reported.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { requirePostgres, startPostgres, type PostgresProcess } from '../../helpers/postgres-process.ts';
import { OUTBOX_TABLES, outboxProblems, readOutboxCounts } from './outbox-invariants.ts';

const SCHEMA = [
  'CREATE SCHEMA orders',
  'CREATE SCHEMA inventory',
  'CREATE SCHEMA payments',
  'CREATE SCHEMA notifications',
  `CREATE TABLE orders.orders (id TEXT PRIMARY KEY, status TEXT NOT NULL, items JSONB NOT NULL)`,
  `CREATE TABLE inventory.stock (sku TEXT PRIMARY KEY, available INT NOT NULL, reserved INT NOT NULL, sold INT NOT NULL, fence BIGINT NOT NULL DEFAULT 0)`,
  `CREATE TABLE inventory.stock_initial (sku TEXT PRIMARY KEY, quantity INT NOT NULL)`,
  `CREATE TABLE payments.ledger (id BIGSERIAL PRIMARY KEY, order_id TEXT NOT NULL, kind TEXT NOT NULL, amount_cents INT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now())`,
  `CREATE TABLE notifications.sent (id TEXT PRIMARY KEY, order_id TEXT NOT NULL, kind TEXT NOT NULL)`,
  ...OUTBOX_TABLES.map((t) => `CREATE TABLE public.${t} (seq BIGSERIAL PRIMARY KEY, sent_at TIMESTAMPTZ)`),
];

// o1 paid (1 pen), o2 cancelled after a refund, o3 cancelled before any charge.
const CONSISTENT = [
  `INSERT INTO orders.orders VALUES ('o1', 'paid', '[{"sku":"pen","quantity":1}]'), ('o2', 'cancelled', '[{"sku":"pen","quantity":2}]'), ('o3', 'cancelled', '[{"sku":"pen","quantity":1}]')`,
  `INSERT INTO inventory.stock_initial VALUES ('pen', 10)`,
  `INSERT INTO inventory.stock (sku, available, reserved, sold) VALUES ('pen', 9, 0, 1)`,
  `INSERT INTO payments.ledger (order_id, kind, amount_cents) VALUES ('o1', 'charge', 250), ('o2', 'charge', 500), ('o2', 'refund', 500)`,
  `INSERT INTO notifications.sent VALUES ('n1', 'o1', 'OrderCreated'), ('n2', 'o1', 'OrderPaid'), ('n3', 'o2', 'OrderCreated'), ('n4', 'o2', 'OrderCancelled'), ('n5', 'o3', 'OrderCreated'), ('n6', 'o3', 'OrderCancelled')`,
  ...OUTBOX_TABLES.map((t) => `INSERT INTO public.${t} (sent_at) VALUES (now())`),
];

describe('outbox chaos invariants', { skip: requirePostgres() }, () => {
  let server: PostgresProcess;
  let pool: pg.Pool;
  const acknowledged = new Set(['o1', 'o2', 'o3']);
  before(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: server.url, max: 2 });
    for (const s of SCHEMA) await pool.query(s);
  });
  after(async () => {
    await pool?.end();
    await server?.stop();
  });

  /** Loads the consistent state, applies `damage` in a transaction that is rolled back, and returns the problems seen inside it. */
  async function problemsWith(damage: string[], ack = acknowledged): Promise<string[]> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      for (const s of [...CONSISTENT, ...damage]) await client.query(s);
      return outboxProblems(await readOutboxCounts(client, ack));
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  it('a consistent state has no problem', async () => {
    assert.deepEqual(await problemsWith([]), []);
  });

  const cases: Array<[string, string[], RegExp]> = [
    ['an open order', [`UPDATE orders.orders SET status = 'reserved' WHERE id = 'o3'`], /1 orders not final/],
    ['stock that vanished', [`UPDATE inventory.stock SET available = 8`], /stock pen: available 8 \+ reserved 0 \+ sold 1 ≠ initial 10/],
    ['stock sold to nobody', [`UPDATE inventory.stock SET available = 8, sold = 2`], /stock pen: sold 2 ≠ 1 in paid orders/],
    ['a second charge', [`INSERT INTO payments.ledger (order_id, kind, amount_cents) VALUES ('o1', 'charge', 250)`], /1 paid orders without exactly one charge/],
    ['a paid order never charged', [`DELETE FROM payments.ledger WHERE order_id = 'o1'`], /1 paid orders without exactly one charge/],
    ['a cancelled order not refunded', [`DELETE FROM payments.ledger WHERE order_id = 'o2' AND kind = 'refund'`], /1 cancelled orders with charges ≠ refunds/],
    ['an unsent outbox row', [`INSERT INTO public.payments_outbox (sent_at) VALUES (NULL)`], /1 events never relayed from payments_outbox/],
    ['a lost order event', [`DELETE FROM notifications.sent WHERE id = 'n4'`], /1 order events never reached the notification service/],
    ['a customer told twice', [`INSERT INTO notifications.sent VALUES ('n7', 'o1', 'OrderCreated')`], /1 notifications sent twice for the same order and kind/],
  ];
  for (const [what, damage, problem] of cases) {
    it(`reports ${what}`, async () => {
      const problems = await problemsWith(damage);
      assert.ok(problems.some((p) => problem.test(p)), `expected ${problem} in ${JSON.stringify(problems)}`);
    });
  }

  it('reports an acknowledged order that is not in the database', async () => {
    assert.deepEqual(await problemsWith([], new Set([...acknowledged, 'o4'])), ['1 acknowledged orders are missing from orders.orders']);
  });
});
