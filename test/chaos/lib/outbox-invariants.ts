// What must hold once the faults have stopped and the shop has settled, read from the tables
// CONTRACTS.md names (orders.orders, inventory.stock / stock_initial, payments.ledger), the
// notification feed (notifications.sent) and the four outbox tables: every order final, stock
// conserved, money moved once, no event lost.
import type pg from 'pg';

/** Order ids the load generator got an answer for (they were committed). */
export interface OutboxCounts {
  orders: number;
  paid: number;
  cancelled: number;
  /** Orders not paid or cancelled (by status). */
  open: Record<string, number>;
  /** Answered by CreateOrder but not in orders.orders. */
  acknowledgedMissing: number;
  /** Per sku: initial, available, reserved, sold. */
  stock: Array<{ sku: string; initial: number; available: number; reserved: number; sold: number; soldToPaidOrders: number }>;
  charges: number;
  refunds: number;
  /** Paid orders without exactly one charge and no refund. */
  paidBadLedger: number;
  /** Cancelled orders with charges ≠ refunds. */
  cancelledBadLedger: number;
  /** Ledger rows of orders that do not exist. */
  ledgerUnknownOrder: number;
  /** Outbox rows never relayed, per outbox table. */
  unsent: Record<string, number>;
  /** Notifications that should exist (OrderCreated per order; OrderPaid / OrderCancelled per final order) and do not. */
  notificationsMissing: number;
  /** More than one notification of one kind for one order (a figure, not a broken invariant: the reconciler drives a stuck order again with a new OrderCreated). */
  notificationsDuplicate: number;
  /** Events consumer groups gave up on (dead letters), per topic. */
  deadLetters: Record<string, number>;
}

export const OUTBOX_TABLES = ['orders_outbox', 'inventory_outbox', 'payments_outbox', 'notifications_outbox'] as const;

const num = (v: unknown) => Number(v ?? 0);

export async function readOutboxCounts(db: pg.ClientBase | pg.Pool, acknowledged: ReadonlySet<string>, deadLetters: Record<string, number> = {}): Promise<OutboxCounts> {
  const q = async <R>(sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows as R[];
  const statuses = await q<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM orders.orders GROUP BY status`);
  const byStatus = Object.fromEntries(statuses.map((r) => [r.status, num(r.n)]));
  const ids = new Set((await q<{ id: string }>(`SELECT id FROM orders.orders`)).map((r) => r.id));
  const stock = await q<{ sku: string; initial: number; available: number; reserved: number; sold: number; sold_to_paid: string }>(
    `SELECT i.sku, i.quantity AS initial, s.available, s.reserved, s.sold,
       (SELECT coalesce(sum((item->>'quantity')::int), 0) FROM orders.orders o, jsonb_array_elements(o.items) item WHERE o.status = 'paid' AND item->>'sku' = i.sku) AS sold_to_paid
     FROM inventory.stock_initial i LEFT JOIN inventory.stock s USING (sku) ORDER BY i.sku`,
  );
  const money = await q<{ status: string | null; charges: string; refunds: string; n: string }>(
    `SELECT o.status, l.charges, l.refunds, count(*) AS n
     FROM (SELECT order_id, count(*) FILTER (WHERE kind = 'charge') AS charges, count(*) FILTER (WHERE kind = 'refund') AS refunds FROM payments.ledger GROUP BY order_id) l
     LEFT JOIN orders.orders o ON o.id = l.order_id GROUP BY 1, 2, 3`,
  );
  const paidWithoutLedger = num((await q<{ n: string }>(`SELECT count(*) AS n FROM orders.orders o WHERE o.status = 'paid' AND NOT EXISTS (SELECT 1 FROM payments.ledger l WHERE l.order_id = o.id)`))[0]?.n);
  const unsent: Record<string, number> = {};
  for (const t of OUTBOX_TABLES) unsent[t] = num((await q<{ n: string }>(`SELECT count(*) AS n FROM public.${t} WHERE sent_at IS NULL`))[0]?.n);
  const [notes] = await q<{ missing: string; duplicate: string }>(
    `WITH expected AS (
       SELECT id AS order_id, 'OrderCreated' AS kind FROM orders.orders
       UNION ALL SELECT id, CASE status WHEN 'paid' THEN 'OrderPaid' ELSE 'OrderCancelled' END FROM orders.orders WHERE status IN ('paid', 'cancelled')
     ), sent AS (SELECT order_id, kind, count(*) AS n FROM notifications.sent GROUP BY 1, 2)
     SELECT (SELECT count(*) FROM expected e WHERE NOT EXISTS (SELECT 1 FROM sent s WHERE s.order_id = e.order_id AND s.kind = e.kind)) AS missing,
            (SELECT coalesce(sum(n - 1), 0) FROM sent WHERE n > 1) AS duplicate`,
  );
  let charges = 0;
  let refunds = 0;
  let paidBadLedger = paidWithoutLedger;
  let cancelledBadLedger = 0;
  let ledgerUnknownOrder = 0;
  for (const m of money) {
    const [c, r, n] = [num(m.charges), num(m.refunds), num(m.n)];
    charges += c * n;
    refunds += r * n;
    if (m.status === null) ledgerUnknownOrder += n;
    else if (m.status === 'paid' && !(c === 1 && r === 0)) paidBadLedger += n;
    else if (m.status === 'cancelled' && c !== r) cancelledBadLedger += n;
  }
  return {
    orders: ids.size,
    paid: byStatus.paid ?? 0,
    cancelled: byStatus.cancelled ?? 0,
    open: Object.fromEntries(Object.entries(byStatus).filter(([s]) => s !== 'paid' && s !== 'cancelled')),
    acknowledgedMissing: [...acknowledged].filter((id) => !ids.has(id)).length,
    stock: stock.map((s) => ({ sku: s.sku, initial: num(s.initial), available: num(s.available), reserved: num(s.reserved), sold: num(s.sold), soldToPaidOrders: num(s.sold_to_paid) })),
    charges,
    refunds,
    paidBadLedger,
    cancelledBadLedger,
    ledgerUnknownOrder,
    unsent,
    notificationsMissing: num(notes?.missing),
    notificationsDuplicate: num(notes?.duplicate),
    deadLetters,
  };
}

/** Orders still open (not paid or cancelled). */
export const openOrders = (c: OutboxCounts) => Object.values(c.open).reduce((a, b) => a + b, 0);

/** Every broken invariant, one sentence each; empty when all hold. */
export function outboxProblems(c: OutboxCounts): string[] {
  const p: string[] = [];
  if (openOrders(c) > 0) p.push(`${openOrders(c)} orders not final: ${JSON.stringify(c.open)}`);
  if (c.acknowledgedMissing > 0) p.push(`${c.acknowledgedMissing} acknowledged orders are missing from orders.orders`);
  for (const s of c.stock) {
    if (s.available + s.reserved + s.sold !== s.initial) p.push(`stock ${s.sku}: available ${s.available} + reserved ${s.reserved} + sold ${s.sold} ≠ initial ${s.initial}`);
    if (s.available < 0 || s.reserved < 0 || s.sold < 0) p.push(`stock ${s.sku} negative: ${JSON.stringify(s)}`);
    if (openOrders(c) === 0 && s.reserved !== 0) p.push(`stock ${s.sku}: ${s.reserved} still reserved with every order final`);
    if (openOrders(c) === 0 && s.sold !== s.soldToPaidOrders) p.push(`stock ${s.sku}: sold ${s.sold} ≠ ${s.soldToPaidOrders} in paid orders`);
  }
  if (c.paidBadLedger > 0) p.push(`${c.paidBadLedger} paid orders without exactly one charge and no refund`);
  if (c.cancelledBadLedger > 0) p.push(`${c.cancelledBadLedger} cancelled orders with charges ≠ refunds`);
  if (c.ledgerUnknownOrder > 0) p.push(`${c.ledgerUnknownOrder} orders in the ledger that do not exist`);
  for (const [t, n] of Object.entries(c.unsent)) if (n > 0) p.push(`${n} events never relayed from ${t}`);
  if (c.notificationsMissing > 0) p.push(`${c.notificationsMissing} order events never reached the notification service (lost)`);
  if (c.notificationsDuplicate > 0) p.push(`${c.notificationsDuplicate} notifications sent twice for the same order and kind`);
  for (const [t, n] of Object.entries(c.deadLetters)) if (n > 0) p.push(`${n} dead letters on ${t}`);
  return p;
}

/** A few example rows behind the problems, for the report (what a reader opens first). */
export async function outboxExamples(db: pg.Pool, c: OutboxCounts): Promise<string[]> {
  const out: string[] = [];
  if (c.notificationsDuplicate > 0) {
    const { rows } = await db.query(
      `SELECT order_id, kind, array_agg(id ORDER BY sent_at) AS ids, array_agg(sent_at ORDER BY sent_at) AS at FROM notifications.sent GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 3`,
    );
    for (const r of rows) {
      const events = await db.query(`SELECT id, type, time, sent_at FROM public.orders_outbox WHERE key = $1 ORDER BY seq`, [r.order_id]);
      out.push(`duplicate ${r.kind} notifications for ${r.order_id}: ${JSON.stringify(r.ids)} at ${JSON.stringify(r.at)}; its outbox events: ${JSON.stringify(events.rows)}`);
    }
  }
  if (openOrders(c) > 0) {
    const { rows } = await db.query(`SELECT id, status, reason, attempts, last_error, deadline FROM orders.orders WHERE status NOT IN ('paid', 'cancelled') LIMIT 3`);
    for (const r of rows) out.push(`open order: ${JSON.stringify(r)}`);
  }
  return out;
}
