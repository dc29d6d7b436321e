// The order service's storage (schema `orders`): one row per order with its status and the
// deadline by which it should be final. Every status change is one conditional UPDATE (`WHERE
// status = ANY(from)`), so concurrent drivers of one order (the event consumer, the payment call,
// the reconciler) cannot both move it, and the event it raises is added to the outbox in the same
// transaction.
import type { PostgresOutbox, SqlDatabase, SqlExecutor } from 'etcd-coord/events';
import { TOPICS, type OrderEvent } from './flow.ts';
import type { Item } from './proto.ts';

/** pending → reserved → paid, or → cancelled; cancelling / refunding while a compensation runs. Final: paid, cancelled. */
export type OrderStatus = 'pending' | 'reserved' | 'cancelling' | 'refunding' | 'paid' | 'cancelled';
export const FINAL: readonly OrderStatus[] = ['paid', 'cancelled'];

export const ORDER_TABLES: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS orders.orders (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    items JSONB NOT NULL,
    amount_cents INT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'reserved', 'cancelling', 'refunding', 'paid', 'cancelled')),
    reason TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deadline TIMESTAMPTZ NOT NULL,
    attempts INT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
  )`,
  `CREATE INDEX IF NOT EXISTS orders_open ON orders.orders (deadline) WHERE status NOT IN ('paid', 'cancelled')`,
];

export interface OrderRow {
  id: string;
  user_id: string;
  items: Item[];
  amount_cents: number;
  status: OrderStatus;
  reason: string;
  created_at: Date;
  deadline: Date;
  attempts: number;
  last_error: string;
}

const COLUMNS = 'id, user_id, items, amount_cents, status, reason, created_at, deadline, attempts, last_error';

export const eventOf = (o: OrderRow, reason?: string): OrderEvent => ({ orderId: o.id, userId: o.user_id, items: o.items, amountCents: o.amount_cents, ...(reason ? { reason } : {}) });

export class OrderStore {
  constructor(
    readonly db: SqlDatabase,
    private readonly outbox: PostgresOutbox,
  ) {}

  /** The order (status pending) and its OrderCreated event, in one transaction. */
  create(o: { id: string; userId: string; items: Item[]; amountCents: number; deadlineSeconds: number }): Promise<OrderRow> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<OrderRow>(
        `INSERT INTO orders.orders (id, user_id, items, amount_cents, status, deadline) VALUES ($1, $2, $3, $4, 'pending', now() + make_interval(secs => $5)) RETURNING ${COLUMNS}`,
        [o.id, o.userId, JSON.stringify(o.items), o.amountCents, o.deadlineSeconds],
      );
      await this.publish(tx, 'OrderCreated', rows[0]);
      return rows[0];
    });
  }

  async get(id: string, db: SqlExecutor = this.db): Promise<OrderRow | undefined> {
    const { rows } = await db.query<OrderRow>(`SELECT ${COLUMNS} FROM orders.orders WHERE id = $1`, [id]);
    return rows[0];
  }

  /**
   * Moves the order from one of `from` to `to` (with `reason`), adding `event` to the outbox, in
   * `tx` (or a transaction of its own). Undefined when the order was not in `from`.
   */
  async move(id: string, from: readonly OrderStatus[], to: OrderStatus, o: { reason?: string; event?: string; tx?: SqlExecutor } = {}): Promise<OrderRow | undefined> {
    const run = async (tx: SqlExecutor) => {
      const { rows } = await tx.query<OrderRow>(
        `UPDATE orders.orders SET status = $3, reason = CASE WHEN $4 = '' THEN reason ELSE $4 END, updated_at = now() WHERE id = $1 AND status = ANY($2) RETURNING ${COLUMNS}`,
        [id, from, to, o.reason ?? ''],
      );
      if (rows[0] && o.event) await this.publish(tx, o.event, rows[0], o.reason);
      return rows[0];
    };
    return o.tx ? run(o.tx) : this.db.transaction(run);
  }

  /** Orders not final whose deadline passed, oldest deadline first. */
  async due(limit: number): Promise<OrderRow[]> {
    const { rows } = await this.db.query<OrderRow>(`SELECT ${COLUMNS} FROM orders.orders WHERE status NOT IN ('paid', 'cancelled') AND deadline < now() ORDER BY deadline LIMIT $1`, [limit]);
    return rows;
  }

  /** Counts a reconciliation attempt and moves the deadline `retrySeconds` ahead; `republish` adds OrderCreated again (a new event id). */
  async retryLater(o: OrderRow, error: string, retrySeconds: number, republish = false): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(`UPDATE orders.orders SET attempts = attempts + 1, last_error = $2, deadline = now() + make_interval(secs => $3), updated_at = now() WHERE id = $1`, [o.id, error, retrySeconds]);
      if (republish) await this.publish(tx, 'OrderCreated', o);
    });
  }

  /** Notes why the last step failed (shown by GetOrder, read by the reconciler's log). */
  async noteError(id: string, error: string): Promise<void> {
    await this.db.query(`UPDATE orders.orders SET last_error = $2, updated_at = now() WHERE id = $1`, [id, error]);
  }

  private publish(tx: SqlExecutor, type: string, o: OrderRow, reason?: string) {
    return this.outbox.add(tx, [{ topic: TOPICS.orders, type, key: o.id, data: eventOf(o, reason) }]);
  }
}
