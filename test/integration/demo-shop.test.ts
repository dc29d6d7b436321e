// The demo shop's order flow against real processes: eight service processes, real PostgreSQL, and
// each events engine — the embedded etcd engine with coordination on coord store, and NATS
// JetStream with coordination on a real etcd. An order is paid through events; the decline switch
// cancels it and its stock returns; a redelivered event has its effect once; kill -9 of the
// inventory instances loses no order; a payment that times out is compensated by the reconciler;
// an event nobody can handle ends in the dead-letter list and re-drive delivers it again. After
// every test stock is conserved and every final order's money adds up.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import pg from 'pg';
import { startShopGateway } from '../../src/cli/dev-gateway.ts';
import { connect, type Coord } from '../../src/index.ts';
import { etcdEngine, natsEngine, readAnnouncement, readRelayReports, type EventEngine, type EventRecord } from '../../src/events/index.ts';
import { client as grpcClient, setup, type ServiceClientConstructor } from '../../src/grpc/index.ts';
import { startStore, type StoreHandle } from '../../src/store/index.ts';
import { startShop, type Shop } from '../../examples/shop/launch.ts';
import { call, shop, type Order } from '../../examples/shop/lib/proto.ts';
import { StockStore, FencedWriteError } from '../../examples/shop/lib/stock.ts';
import { fromPg } from '../../src/events/index.ts';
import { waitFor } from './admin-fixture.ts';
import { runCli } from '../helpers/cli-process.ts';
import { FAULTS, FaultsSchema } from '../../examples/shop/lib/faults.ts';
import { requireEtcd, startEtcd, type EtcdProcess } from '../helpers/etcd-process.ts';
import { requireNats, startNats, type NatsProcess } from '../helpers/nats-process.ts';
import { requirePostgres, startPostgres, type PostgresProcess } from '../helpers/postgres-process.ts';

const T = 60_000;
/** Short enough for the reconciler to act within a test, long enough that a healthy order never meets it. */
const LIMITS = { maxItemsPerOrder: 10, orderSeconds: 60, paymentTimeoutMs: 2000, reconcileAttempts: 2, retrySeconds: 1 };

const setups = [
  { name: 'etcd engine, coordination on coord store', nats: false, skip: requirePostgres() },
  { name: 'NATS JetStream engine, coordination on real etcd', nats: true, skip: requirePostgres() ?? requireNats() ?? requireEtcd() },
];

for (const s of setups) {
  describe(`demo shop: ${s.name}`, { skip: s.skip }, () => {
    let postgres: PostgresProcess;
    let nats: NatsProcess | undefined;
    let etcd: EtcdProcess | undefined;
    let store: StoreHandle | undefined;
    let coord: Coord;
    let running: Shop;
    let engine: EventEngine;
    let db: pg.Pool;
    let endpoint: string;
    const logDir = mkdtempSync(join(tmpdir(), 'coord-shop-'));
    const clients: grpc.Client[] = [];
    const client = <C extends grpc.Client>(Service: ServiceClientConstructor<C>, target: string) => {
      const c = grpcClient(Service, target);
      clients.push(c);
      return c;
    };
    const log = (id: string) => readFileSync(join(logDir, `${id}.log`), 'utf8');
    let orders: InstanceType<ReturnType<typeof shop>['OrderService']>;
    let inventory: InstanceType<ReturnType<typeof shop>['InventoryService']>;
    let payments: InstanceType<ReturnType<typeof shop>['PaymentService']>;
    let notifications: InstanceType<ReturnType<typeof shop>['NotificationService']>;

    before(async () => {
      postgres = await startPostgres();
      if (s.nats) {
        etcd = await startEtcd();
        nats = await startNats();
        endpoint = etcd.endpoint;
      } else {
        store = await startStore({ listen: '127.0.0.1:0' });
        endpoint = store.endpoint;
      }
      coord = connect({ endpoints: endpoint });
      setup({ coord });
      await coord.config.publish('shop', 'order-limits', LIMITS, { format: 'json' });
      running = await startShop({ endpoints: endpoint, databaseUrl: postgres.url, natsUrl: nats?.endpoint, logDir, startTimeoutMs: 120_000 });
      engine = nats ? await natsEngine({ servers: nats.endpoint }) : etcdEngine(coord);
      db = new pg.Pool({ connectionString: postgres.url, max: 2 });
      orders = client(shop().OrderService, 'etcd:///order-service');
      inventory = client(shop().InventoryService, 'etcd:///inventory-service');
      payments = client(shop().PaymentService, 'etcd:///payment-service');
      notifications = client(shop().NotificationService, 'etcd:///notification-service');
    });
    after(async () => {
      for (const c of clients) c.close();
      await running?.close();
      await engine?.close();
      await db?.end();
      await coord?.close();
      await store?.close();
      await etcd?.stop();
      await nats?.stop();
      await postgres?.stop();
    });

    /** Every test leaves the books straight: available + reserved + sold = initial for every SKU; a paid order has one charge and no refund, a cancelled one as many refunds as charges. */
    afterEach(async () => {
      await assertBooks();
    });

    async function assertBooks() {
      const { rows: stock } = await db.query(`SELECT s.sku, s.available, s.reserved, s.sold, i.quantity FROM inventory.stock s JOIN inventory.stock_initial i USING (sku) ORDER BY sku`);
      assert.equal(stock.length, 4);
      for (const r of stock) assert.equal(r.available + r.reserved + r.sold, r.quantity, `stock of ${r.sku} not conserved: ${JSON.stringify(r)}`);
      const { rows: money } = await db.query(
        `SELECT o.id, o.status, count(*) FILTER (WHERE l.kind = 'charge')::int AS charges, count(*) FILTER (WHERE l.kind = 'refund')::int AS refunds
         FROM orders.orders o LEFT JOIN payments.ledger l ON l.order_id = o.id WHERE o.status IN ('paid', 'cancelled') GROUP BY o.id, o.status`,
      );
      for (const r of money) {
        if (r.status === 'paid') assert.deepEqual([r.charges, r.refunds], [1, 0], `paid order ${r.id}`);
        else assert.equal(r.charges, r.refunds, `cancelled order ${r.id}: ${r.charges} charges, ${r.refunds} refunds`);
      }
    }

    const create = (items: Array<{ sku: string; quantity: number }>, user_id = 'u1') => call(orders, 'CreateOrder', { user_id, items });
    const order = (id: string) => call(orders, 'GetOrder', { id });
    const stockOf = (sku: string) => call(inventory, 'GetStock', { sku });
    /** Waits until the order is final (paid or cancelled) and inventory has acted on it (nothing of it left reserved). */
    async function settled(id: string, ms = T): Promise<Order> {
      return waitFor(async () => {
        const o = await order(id);
        if (o.status !== 'paid' && o.status !== 'cancelled') return undefined;
        const { rows } = await db.query(`SELECT status FROM inventory.reservations WHERE order_id = $1`, [id]);
        const done = o.status === 'paid' ? rows[0]?.status === 'sold' : rows[0]?.status !== 'reserved';
        return done && o;
      }, ms, `order ${id} to settle`);
    }
    /** Publishes the fault switch and waits until both payment services follow it (their last `faults now` line). */
    async function faults(value: { payment?: { decline?: boolean; delayMs?: number } }) {
      await coord.config.publish('shop', 'faults', value, { format: 'json' });
      const expected = `faults now ${JSON.stringify({ slowMs: {}, ...(value.payment ? { payment: { decline: false, delayMs: 0, ...value.payment } } : {}) })}`;
      const last = (id: string) => log(id).split('\n').filter((l) => l.includes(': faults now ')).pop()?.split(`${id}: `)[1];
      await waitFor(() => ['payment-service-1', 'payment-service-2'].every((id) => last(id) === expected), T, `both payment services to follow ${expected}`);
    }
    async function limits(value: typeof LIMITS) {
      await coord.config.publish('shop', 'order-limits', value, { format: 'json' });
      const line = `"orderSeconds":${value.orderSeconds},"paymentTimeoutMs":${value.paymentTimeoutMs}`;
      await waitFor(() => ['order-service-1', 'order-service-2'].every((id) => log(id).includes(line)), T, 'both order services to reload their limits');
    }

    it('pays an order through events: stock reserved then sold, one charge, a notification per step', async () => {
      const before = await stockOf('book');
      const created = await create([{ sku: 'book', quantity: 2 }]);
      // CreateOrder answers at once, before inventory or payment did anything.
      assert.equal(created.status, 'pending');
      assert.equal(created.amount_cents, 3000);
      const done = await settled(created.id);
      assert.equal(done.status, 'paid', done.reason);
      const after = await stockOf('book');
      assert.equal(after.available, before.available - 2);
      assert.equal(after.sold, before.sold + 2);
      assert.ok(Number(after.fencing_token) > 0, 'the fencing token is stored with the stock');
      const p = await call(payments, 'GetPayment', { order_id: created.id });
      assert.deepEqual([p.status, p.amount_cents], ['charged', 3000]);
      // Pay is idempotent per order: asking again answers the first result, no second charge.
      assert.equal((await call(payments, 'Pay', { order_id: created.id, amount_cents: 3000 })).status, 'charged');
      const sent = await waitFor(async () => {
        const r = await call(notifications, 'ListNotifications', { order_id: created.id, limit: 10 });
        return r.notifications.length === 2 && r.notifications;
      }, T, 'two notifications');
      assert.deepEqual(sent.map((n) => n.kind).sort(), ['OrderCreated', 'OrderPaid']);
      // …and the feed on the `notifications` topic has them (the dashboard tails it).
      assert.ok((await engine.stats('notifications')).events >= 2);
      // The services announce their engine, and every relay reports its backlog, for `coord
      // events` and the dashboard's Events page.
      assert.equal((await readAnnouncement(coord))?.engine, nats ? 'nats-jetstream' : 'etcd');
      const reports = await waitFor(async () => {
        const rows = await readRelayReports(coord);
        const outboxes = [...new Set(rows.map((r) => r.outbox))].sort();
        return outboxes.length === 4 && outboxes;
      }, T, 'a relay report from every outbox');
      assert.deepEqual(reports, ['shop-inventory', 'shop-notifications', 'shop-orders', 'shop-payments']);
    });

    it('serves the new services through the gateway; a refund from outside cancels a paid order and its stock returns', async () => {
      const secret = 'demo-shop-test-secret-0123456789abcdef';
      const gateway = await startShopGateway({ coord, listen: '127.0.0.1:0', jwtSecret: secret, log: () => {} });
      try {
        const token = await new SignJWT({ scope: 'orders:write' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setIssuer('coord-dev').setExpirationTime('5m').sign(new TextEncoder().encode(secret));
        const http = async (method: string, path: string, body?: object, auth = true) => {
          const res = await fetch(`${gateway.url}${path}`, {
            method,
            headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${token}` } : {}) },
            ...(body ? { body: JSON.stringify(body) } : {}),
          });
          return { status: res.status, body: (await res.json()) as any };
        };
        const before = await stockOf('book');
        const created = await http('POST', '/v1/orders', { user_id: 'u2', items: [{ sku: 'book', quantity: 1 }] });
        assert.equal(created.status, 200, JSON.stringify(created.body));
        assert.equal(created.body.status, 'pending');
        const id: string = created.body.id;
        await settled(id);
        assert.equal((await http('GET', `/v1/orders/${id}`)).body.status, 'paid');
        const { servedBy, ...payment } = (await http('GET', `/v1/payments/${id}`)).body;
        assert.deepEqual(payment, { orderId: id, status: 'charged', amountCents: 1500 });
        assert.match(servedBy, /^payment-service-[12]$/);
        const feed = await waitFor(async () => {
          const r = await http('GET', `/v1/notifications?order_id=${id}`);
          return r.body.notifications?.length === 2 && r.body.notifications;
        }, T, 'two notifications through the gateway');
        assert.deepEqual(feed.map((n: { kind: string }) => n.kind).sort(), ['OrderCreated', 'OrderPaid']);
        assert.equal((await http('POST', `/v1/payments/${id}/refund`, {}, false)).status, 401);
        const refunded = await http('POST', `/v1/payments/${id}/refund`, {});
        assert.equal(refunded.body.status, 'refunded', JSON.stringify(refunded.body));
        // payment-service publishes PaymentRefunded; order-service cancels the paid order; inventory takes the sold book back.
        const done = await waitFor(async () => {
          const o = (await http('GET', `/v1/orders/${id}`)).body;
          return o.status === 'cancelled' && o;
        }, T, 'the refunded order to be cancelled');
        assert.equal(done.reason, 'refunded');
        await waitFor(async () => (await stockOf('book')).available === before.available, T, 'the book to return to stock');
        assert.equal((await stockOf('book')).sold, before.sold);
      } finally {
        await gateway.close();
      }
    });

    it('answers bad input with a clear error', async () => {
      const bad = (items: Array<{ sku: string; quantity: number }>, user = 'u1') => create(items, user).then(() => assert.fail('accepted'), (e: grpc.ServiceError) => [grpc.status[e.code], e.details]);
      assert.deepEqual(await bad([{ sku: 'nope', quantity: 1 }]), ['INVALID_ARGUMENT', 'unknown sku "nope" (try book, mug, pen, limited)']);
      assert.deepEqual(await bad([{ sku: 'book', quantity: 0 }]), ['INVALID_ARGUMENT', 'quantity of book must be > 0, got 0']);
      assert.deepEqual(await bad([]), ['INVALID_ARGUMENT', 'an order needs at least one item']);
      assert.deepEqual(await bad([{ sku: 'book', quantity: 11 }]), ['FAILED_PRECONDITION', 'at most 10 items per order (config shop/order-limits), got 11']);
      assert.deepEqual(await bad([{ sku: 'book', quantity: 1 }], 'u9'), ['NOT_FOUND', 'no user "u9" (try u1, u2 or u3)']);
      await assert.rejects(call(payments, 'Pay', { order_id: 'x', amount_cents: 0 }), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && e.details === 'amount_cents must be > 0, got 0');
    });

    it('never oversells: 12 concurrent orders for the 5 limited ones, over both inventory instances', async () => {
      const created = await Promise.all(Array.from({ length: 12 }, (_, n) => create([{ sku: 'limited', quantity: 1 }], `u${(n % 3) + 1}`)));
      const done = await Promise.all(created.map((o) => settled(o.id)));
      assert.equal(done.filter((o) => o.status === 'paid').length, 5);
      const refused = done.filter((o) => o.status === 'cancelled');
      assert.equal(refused.length, 7);
      for (const o of refused) assert.match(o.reason, /^stock rejected: out of stock: limited has 0, 1 wanted$/);
      assert.deepEqual(await stockOf('limited').then((x) => [x.available, x.reserved, x.sold]), [0, 0, 5]);
    });

    it('cancels an order the payment declines (fault switch) and puts its stock back', async () => {
      const before = await stockOf('mug');
      await faults({ payment: { decline: true } });
      const created = await create([{ sku: 'mug', quantity: 3 }], 'u2');
      const done = await settled(created.id);
      await faults({});
      assert.equal(done.status, 'cancelled');
      assert.equal(done.reason, 'payment declined');
      assert.deepEqual(await stockOf('mug').then((x) => [x.available, x.reserved, x.sold]), [before.available, before.reserved, before.sold]);
      assert.equal((await call(payments, 'GetPayment', { order_id: created.id })).status, 'declined');
      const sent = await waitFor(async () => {
        const r = await call(notifications, 'ListNotifications', { order_id: created.id });
        return r.notifications.find((n) => n.kind === 'OrderCancelled');
      }, T, 'the cancellation notice');
      assert.match(sent.text, /was cancelled: payment declined/);
    });

    it('has the effect of a redelivered event once', async () => {
      const created = await create([{ sku: 'pen', quantity: 4 }]);
      await settled(created.id);
      const stock = await stockOf('pen');
      const { rows } = await db.query(`SELECT id, topic, type, key, data, time FROM orders_outbox WHERE key = $1 ORDER BY seq`, [created.id]);
      assert.deepEqual(rows.map((r) => r.type), ['OrderCreated', 'OrderPaid']);
      const events: EventRecord[] = rows.map((r) => ({ ...r, time: new Date(r.time).toISOString() }));
      for (const e of events) await redeliver(e);
      // Both groups saw them again (nothing pending), and nothing changed.
      await waitFor(async () => {
        const st = await engine.stats('orders');
        return st.groups.filter((g) => g.group === 'inventory' || g.group === 'notification').every((g) => g.pending === 0) && st.groups.length >= 2;
      }, T, 'both groups to take the redelivered events');
      const now = await stockOf('pen');
      assert.deepEqual([now.available, now.reserved, now.sold, now.fencing_token], [stock.available, stock.reserved, stock.sold, stock.fencing_token]);
      const sent = await call(notifications, 'ListNotifications', { order_id: created.id });
      assert.equal(sent.notifications.length, 2);
      const { rows: processed } = await db.query(`SELECT consumer, count(*)::int AS n FROM coord_processed_events WHERE event_id = ANY($1) GROUP BY consumer ORDER BY consumer`, [events.map((e) => e.id)]);
      assert.deepEqual(processed, [{ consumer: 'inventory', n: 2 }, { consumer: 'notification', n: 2 }]);
    });

    it('loses no order when both inventory instances are killed (SIGKILL) mid-flow: they complete after the restart', async () => {
      const first = await Promise.all(Array.from({ length: 5 }, () => create([{ sku: 'book', quantity: 1 }])));
      for (const id of ['inventory-service-1', 'inventory-service-2']) process.kill(running.instances.find((i) => i.id === id)!.pid, 'SIGKILL');
      const during = await Promise.all(Array.from({ length: 5 }, () => create([{ sku: 'book', quantity: 1 }])));
      // Nobody consumes OrderCreated now: the orders created meanwhile wait in the engine.
      await Promise.all(['inventory-service-1', 'inventory-service-2'].map((id) => running.restart(id)));
      const done = await Promise.all([...first, ...during].map((o) => settled(o.id)));
      assert.deepEqual(done.map((o) => o.status), Array(10).fill('paid'));
    });

    it('publishes OrderCreated again while inventory does not answer, then cancels; the late stock is released', async () => {
      await limits({ ...LIMITS, orderSeconds: 1, reconcileAttempts: 1 });
      const before = await stockOf('mug');
      try {
        for (const id of ['inventory-service-1', 'inventory-service-2']) process.kill(running.instances.find((i) => i.id === id)!.pid, 'SIGKILL');
        const created = await create([{ sku: 'mug', quantity: 2 }], 'u3');
        const done = await waitFor(async () => {
          const o = await order(created.id);
          return o.status === 'cancelled' && o;
        }, T, 'the unanswered order to be cancelled');
        assert.equal(done.reason, 'stock not answered in time');
        const orderLog = log('order-service-1') + log('order-service-2');
        assert.match(orderLog, new RegExp(`reconciler: order ${created.id} still pending after its deadline: OrderCreated again \\(attempt 1\\)`));
        await Promise.all(['inventory-service-1', 'inventory-service-2'].map((id) => running.restart(id)));
        // Inventory meets OrderCreated (twice) and then OrderCancelled: whatever it reserved comes back.
        await waitFor(async () => (await db.query(`SELECT status FROM inventory.reservations WHERE order_id = $1`, [created.id])).rows[0]?.status === 'released', T, 'the reservation to be released');
        await waitFor(async () => (await stockOf('mug')).available === before.available, T, 'the stock to come back');
        assert.equal((await call(payments, 'GetPayment', { order_id: created.id }).catch((e: grpc.ServiceError) => e.code)), grpc.status.NOT_FOUND, 'never charged');
      } finally {
        await limits(LIMITS);
      }
    });

    it('compensates a payment that times out: the reconciler voids it and cancels the order; its stock comes back', async () => {
      await limits({ ...LIMITS, orderSeconds: 2, paymentTimeoutMs: 500 });
      const before = await stockOf('mug');
      await faults({ payment: { delayMs: 30_000 } });
      try {
        const created = await create([{ sku: 'mug', quantity: 1 }], 'u3');
        const done = await settled(created.id);
        assert.equal(done.status, 'cancelled');
        assert.match(done.reason, /^payment not completed after 2 attempts \(payment not answered: Deadline exceeded/);
        assert.deepEqual(await stockOf('mug').then((x) => [x.available, x.reserved, x.sold]), [before.available, before.reserved, before.sold]);
        // Voided before any charge: the Pay calls still waiting in payment-service will decline.
        assert.equal((await call(payments, 'GetPayment', { order_id: created.id })).status, 'voided');
        const orderLog = log('order-service-1') + log('order-service-2');
        // The reconciler charged again before it compensated. When inventory answers after the order's 2 s deadline (a
        // loaded machine, inventory consumers just restarted by the test before), the first attempt went to publishing
        // OrderCreated again, and the charge is attempt 2.
        const charged = orderLog.match(new RegExp(`reconciler: order ${created.id} not paid after its deadline: charging again \\(attempt (\\d)\\)`));
        assert.ok(charged, `the reconciler charged ${created.id} again before compensating:\n${orderLog}`);
        if (charged[1] !== '1') {
          assert.equal(charged[1], '2');
          assert.match(orderLog, new RegExp(`reconciler: order ${created.id} still pending after its deadline: OrderCreated again \\(attempt 1\\)`));
        }
      } finally {
        await faults({});
        await limits(LIMITS);
      }
    });

    it('refunds and cancels a paid order inventory cannot fulfil', async () => {
      // Payment is slow (new charges answer after 3 s, past the 1 s the order service waits), so the
      // order stays reserved long enough to take its stock away, as a damaged shipment would.
      await limits({ ...LIMITS, orderSeconds: 2, paymentTimeoutMs: 1000, reconcileAttempts: 5 });
      await faults({ payment: { delayMs: 3000 } });
      try {
        const created = await create([{ sku: 'pen', quantity: 2 }], 'u2');
        await waitFor(async () => (await order(created.id)).status === 'reserved', T, 'the order to be reserved');
        const tx = await db.connect();
        let taken;
        try {
          await tx.query('BEGIN');
          taken = await tx.query(`UPDATE inventory.reservations SET status = 'released', reason = 'damaged' WHERE order_id = $1 AND status = 'reserved' RETURNING 1`, [created.id]);
          await tx.query(`UPDATE inventory.stock SET available = available + 2, reserved = reserved - 2 WHERE sku = 'pen'`);
          await tx.query('COMMIT');
        } finally {
          tx.release();
        }
        assert.equal(taken.rowCount, 1, 'the reservation was taken away before the order was paid');
        const done = await settled(created.id);
        assert.equal(done.status, 'cancelled');
        assert.equal(done.reason, 'cannot be fulfilled: paid, but no stock is reserved for it');
        assert.equal((await call(payments, 'GetPayment', { order_id: created.id })).status, 'refunded');
        const { rows } = await db.query(`SELECT kind, amount_cents FROM payments.ledger WHERE order_id = $1 ORDER BY id`, [created.id]);
        assert.deepEqual(rows, [{ kind: 'charge', amount_cents: 500 }, { kind: 'refund', amount_cents: 500 }]);
      } finally {
        await faults({});
        await limits(LIMITS);
      }
    });

    it('puts an event nobody can handle in the dead-letter list; re-drive delivers it again', async () => {
      const bad: EventRecord = { id: `bad-${Date.now()}`, topic: 'orders', type: 'OrderCreated', key: 'nobody', data: { orderId: 'nobody' }, time: new Date().toISOString() };
      await engine.publish([bad]);
      const dead = await waitFor(async () => (await engine.deadLetters('orders', 'inventory')).find((d) => d.event.id === bad.id), T, 'the dead letter');
      assert.equal(dead.attempts, 5);
      assert.equal(dead.error, `malformed OrderCreated event ${bad.id}: userId: Invalid input: expected string, received undefined; items: Invalid input: expected array, received undefined; amountCents: Invalid input: expected number, received undefined`);
      await engine.redrive('orders', 'inventory', bad.id);
      assert.equal((await engine.deadLetters('orders', 'inventory')).find((d) => d.event.id === bad.id), undefined);
      const again = await waitFor(async () => (await engine.deadLetters('orders', 'inventory')).find((d) => d.event.id === bad.id), T, 'the re-driven event to fail again');
      assert.ok(again.time > dead.time);
    });

    it('coord demo slow adds latency to the named instance only and keeps the payment switch', async () => {
      await faults({ payment: { decline: true } });
      const r = await runCli(['demo', 'slow', 'payment-service', '--id', 'payment-service-1', '--ms', '150', '--endpoints', endpoint]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^payment-service-1: 150 ms added to every call \(config shop\/faults v\d+\)$/m);
      await waitFor(() => log('payment-service-1').includes('injected latency now 150 ms'), T, 'payment-service-1 to slow down');
      assert.doesNotMatch(log('payment-service-2'), /injected latency/);
      const now = await coord.config.typed(FAULTS.namespace, FAULTS.key, FaultsSchema).get();
      assert.deepEqual(now?.value, { slowMs: { 'payment-service-1': 150 }, payment: { decline: true, delayMs: 0 } });
      await faults({});
    });

    it('moves the reconciler to the other order-service when its leader stops, and the restarted one serves again', async () => {
      const first = await coord.leader('shop-order-reconciler');
      assert.ok(first);
      const id = first.value.toString();
      process.kill(running.instances.find((i) => i.id === id)!.pid, 'SIGTERM');
      await waitFor(async () => {
        const now = await coord.leader('shop-order-reconciler');
        return now && now.value.toString() !== id;
      }, T, 'another leader');
      await waitFor(() => log(id).includes('resigned leadership of shop-order-reconciler'), T, `${id} to log its resignation`);
      const pid = running.instances.find((i) => i.id === id)!.pid;
      await waitFor(() => !isAlive(pid), T, `${id} to exit`);
      await running.restart(id);
      const o = await create([{ sku: 'pen', quantity: 1 }]);
      assert.equal((await settled(o.id)).status, 'paid');
    });

    /** The same event (same id) delivered to the consumer groups a second time. */
    async function redeliver(e: EventRecord) {
      if (nats) {
        // A second message with the same event inside: a redelivery as consumers meet it (JetStream would drop a second publish of the same msg id).
        const [{ connect: natsConnect }, { jetstream }] = await Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')]);
        const nc = await natsConnect({ servers: nats.endpoint });
        await jetstream(nc).publish(`coord.${e.topic}.events`, JSON.stringify(e), { msgID: `${e.id}:again` });
        await nc.close();
      } else {
        // The etcd engine keeps an event under its id: drop it and publish it again, so the groups' cursors meet it again.
        await coord.etcd.delete(`${coord.namespace}events/${e.topic}/log/${encodeURIComponent(e.id)}`);
        await engine.publish([e]);
      }
    }
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the inventory fencing token, checked by the database', { skip: requirePostgres() }, () => {
  let postgres: PostgresProcess;
  let store: StoreHandle;
  let coord: Coord;
  let pool: pg.Pool;
  before(async () => {
    postgres = await startPostgres();
    store = await startStore({ listen: '127.0.0.1:0' });
    coord = connect({ endpoints: store.endpoint });
    pool = new pg.Pool({ connectionString: postgres.url, max: 2 });
  });
  after(async () => {
    await pool?.end();
    await coord?.close();
    await store?.close();
    await postgres?.stop();
  });

  it('rejects, counts and logs a write whose token is older than the stored one', async () => {
    const { migrate } = await import('../../examples/shop/lib/db.ts');
    const { INVENTORY_TABLES } = await import('../../examples/shop/lib/stock.ts');
    const db = fromPg(pool);
    await migrate(db, 'inventory', INVENTORY_TABLES);
    const lines: string[] = [];
    const stock = new StockStore(coord, (l) => lines.push(l));
    const signal = AbortSignal.timeout(T);
    // A holder whose lock was lost (token 1) writes after a newer holder stored its token.
    await stock.withLocks(['pen'], signal, (tokens) => db.transaction((tx) => stock.reserve(tx, 'newer', [{ sku: 'pen', quantity: 1 }], tokens)));
    const stored = Number((await stock.get(db, 'pen'))!.fence);
    assert.ok(stored > 1);
    await assert.rejects(
      stock.withLocks(['pen'], signal, () => db.transaction((tx) => stock.reserve(tx, 'stale', [{ sku: 'pen', quantity: 1 }], new Map([['pen', 1]])))),
      (e) => e instanceof FencedWriteError && e.message === 'write to pen with fencing token 1 rejected: a newer lock holder wrote it (our lock was lost)',
    );
    assert.equal(stock.fencedRejections, 1);
    assert.deepEqual(lines, ['write to pen with fencing token 1 rejected: a newer lock holder wrote it (our lock was lost) (1 fenced writes rejected so far)']);
    // Rolled back whole: no reservation, the stock as the newer holder left it.
    assert.equal((await pool.query(`SELECT 1 FROM inventory.reservations WHERE order_id = 'stale'`)).rowCount, 0);
    const pen = (await stock.get(db, 'pen'))!;
    assert.deepEqual([pen.available, pen.reserved, Number(pen.fence)], [99_999, 1, stored]);
  });

  it('a shop without a reachable database fails at once with one line', async () => {
    const [port] = await (await import('../helpers/etcd-cluster.ts')).freePorts(1);
    await assert.rejects(
      startShop({ endpoints: store.endpoint, databaseUrl: `postgres://postgres@127.0.0.1:${port}/shop`, logDir: mkdtempSync(join(tmpdir(), 'coord-shop-')) }),
      (e: Error) => e.message.startsWith(`cannot reach the shop database at postgres://postgres@127.0.0.1:${port}/shop (DATABASE_URL): `) && !e.message.includes('\n'),
    );
  });
});
