// The payment service's storage (schema `payments`): one row per order in `payments` (its state)
// and one row per money movement in `ledger` (the chaos check reads it: a paid order has exactly
// one charge and no refund; a cancelled one as many refunds as charges). Every change runs in a
// transaction holding a transaction-scoped advisory lock on the order, so Pay and Refund of one
// order never interleave, and adds its event to the outbox.
import type { PostgresOutbox, SqlDatabase, SqlExecutor } from 'etcd-coord/events';
import { TOPICS, type PaymentEvent } from './flow.ts';

export const PAYMENT_TABLES: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS payments.payments (
    order_id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('charged', 'declined', 'refunded', 'voided')),
    amount_cents INT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE IF NOT EXISTS payments.ledger (
    id BIGSERIAL PRIMARY KEY,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('charge', 'refund')),
    amount_cents INT NOT NULL,
    at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX IF NOT EXISTS ledger_order ON payments.ledger (order_id)`,
];

export type PaymentStatus = 'charged' | 'declined' | 'refunded' | 'voided';
export interface PaymentRow {
  order_id: string;
  status: PaymentStatus;
  amount_cents: number;
}

export class Ledger {
  constructor(
    private readonly db: SqlDatabase,
    private readonly outbox: PostgresOutbox,
  ) {}

  async get(orderId: string): Promise<PaymentRow | undefined> {
    const { rows } = await this.db.query<PaymentRow>(`SELECT order_id, status, amount_cents FROM payments.payments WHERE order_id = $1`, [orderId]);
    return rows[0];
  }

  /** Charges `orderId` (or declines it when `decline`), once: an order with a payment row keeps it. */
  pay(orderId: string, amountCents: number, decline: boolean): Promise<PaymentRow> {
    return this.locked(orderId, async (tx, current) => {
      if (current) return current;
      const status: PaymentStatus = decline ? 'declined' : 'charged';
      await tx.query(`INSERT INTO payments.payments (order_id, status, amount_cents) VALUES ($1, $2, $3)`, [orderId, status, amountCents]);
      if (status === 'charged') await tx.query(`INSERT INTO payments.ledger (order_id, kind, amount_cents) VALUES ($1, 'charge', $2)`, [orderId, amountCents]);
      await this.event(tx, status === 'charged' ? 'PaymentCharged' : 'PaymentDeclined', { orderId, amountCents });
      return { order_id: orderId, status, amount_cents: amountCents };
    });
  }

  /** Gives a charge back, once; an order not charged yet is voided, so a Pay still on its way declines. */
  refund(orderId: string): Promise<PaymentRow> {
    return this.locked(orderId, async (tx, current) => {
      if (current && current.status !== 'charged') return current;
      if (!current) {
        await tx.query(`INSERT INTO payments.payments (order_id, status, amount_cents) VALUES ($1, 'voided', 0)`, [orderId]);
        await this.event(tx, 'PaymentVoided', { orderId, amountCents: 0 });
        return { order_id: orderId, status: 'voided', amount_cents: 0 };
      }
      await tx.query(`UPDATE payments.payments SET status = 'refunded', updated_at = now() WHERE order_id = $1`, [orderId]);
      await tx.query(`INSERT INTO payments.ledger (order_id, kind, amount_cents) VALUES ($1, 'refund', $2)`, [orderId, current.amount_cents]);
      await this.event(tx, 'PaymentRefunded', { orderId, amountCents: current.amount_cents });
      return { ...current, status: 'refunded' };
    });
  }

  private locked<T>(orderId: string, fn: (tx: SqlExecutor, current: PaymentRow | undefined) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('shop-payment:' || $1))`, [orderId]);
      const { rows } = await tx.query<PaymentRow>(`SELECT order_id, status, amount_cents FROM payments.payments WHERE order_id = $1`, [orderId]);
      return fn(tx, rows[0]);
    });
  }

  private event(tx: SqlExecutor, type: string, data: PaymentEvent) {
    return this.outbox.add(tx, [{ topic: TOPICS.payments, type, key: data.orderId, data }]);
  }
}
