// The inventory's storage: stock per SKU in PostgreSQL (schema `inventory`), changed only while
// holding the SKU's coord lock. The lock's fencing token is checked by the database on every write
// (`UPDATE … WHERE fence <= $token`, storing the token), so a holder that lost its lock without
// noticing (a long GC pause, SIGSTOP) cannot overwrite what a newer holder wrote: its write is
// rejected, counted and logged, and the event is handled again under a fresh lock.
//
// Locks are taken before the transaction begins, never inside it: through the PGlite bridge every
// connection shares one session, and a transaction waiting for a lock would block the holder's.
import type { Coord, LockHandle } from 'etcd-coord';
import type { SqlExecutor } from 'etcd-coord/events';
import { CATALOG } from './catalog.ts';
import type { Item } from './proto.ts';

/** How long a crashed holder blocks a SKU, seconds (etcd's minimum lease is 2 s). */
const LOCK_TTL = 5;

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The `inventory` schema: stock (the columns the chaos check reads), initial stock, and one reservation per order. */
export const INVENTORY_TABLES: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS inventory.stock (
    sku TEXT PRIMARY KEY,
    available INT NOT NULL,
    reserved INT NOT NULL DEFAULT 0,
    sold INT NOT NULL DEFAULT 0,
    fence BIGINT NOT NULL DEFAULT 0,
    CHECK (available >= 0 AND reserved >= 0 AND sold >= 0)
  )`,
  `CREATE TABLE IF NOT EXISTS inventory.stock_initial (sku TEXT PRIMARY KEY, quantity INT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS inventory.reservations (
    order_id TEXT PRIMARY KEY,
    items JSONB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('reserved', 'rejected', 'released', 'sold')),
    reason TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  // Seeded once: a SKU that exists keeps its stock.
  ...Object.entries(CATALOG).flatMap(([sku, p]) => [
    `INSERT INTO inventory.stock (sku, available) VALUES (${literal(sku)}, ${p.initialStock}) ON CONFLICT DO NOTHING`,
    `INSERT INTO inventory.stock_initial (sku, quantity) VALUES (${literal(sku)}, ${p.initialStock}) ON CONFLICT DO NOTHING`,
  ]),
];

export type ReservationStatus = 'reserved' | 'rejected' | 'released' | 'sold';

/** A write refused by the database because a newer lock holder wrote the SKU first. */
export class FencedWriteError extends Error {
  constructor(sku: string, token: number) {
    super(`write to ${sku} with fencing token ${token} rejected: a newer lock holder wrote it (our lock was lost)`);
  }
}

type Tokens = ReadonlyMap<string, number>;
type Row = { sku: string; available: number; reserved: number; sold: number; fence: string };

export class StockStore {
  /** Writes the database refused because of the fencing token. */
  fencedRejections = 0;

  constructor(
    private readonly coord: Coord,
    private readonly log: (line: string) => void,
  ) {}

  /** Runs `fn` holding the lock of every SKU (taken in sorted order, so two orders never deadlock), with their fencing tokens. */
  async withLocks<T>(skus: readonly string[], signal: AbortSignal, fn: (tokens: Tokens) => Promise<T>): Promise<T> {
    const held: LockHandle[] = [];
    try {
      for (const sku of [...new Set(skus)].sort()) held.push(await this.coord.lock(`shop/sku/${sku}`, { ttl: LOCK_TTL, signal }));
      return await fn(new Map(held.map((h) => [h.name.slice('shop/sku/'.length), h.fencingToken])));
    } catch (e) {
      if (e instanceof FencedWriteError) this.log(`${e.message} (${++this.fencedRejections} fenced writes rejected so far)`);
      throw e;
    } finally {
      // A release that fails leaves the lock to its lease (LOCK_TTL): the next holder waits for it, nothing is lost.
      await Promise.all(held.map((h) => h.release().catch((e: Error) => this.log(`releasing ${h.name} failed (${e.message}); its lease frees it`))));
    }
  }

  async reservation(tx: SqlExecutor, orderId: string): Promise<{ items: Item[]; status: ReservationStatus } | undefined> {
    const { rows } = await tx.query<{ items: Item[]; status: ReservationStatus }>(`SELECT items, status FROM inventory.reservations WHERE order_id = $1 FOR UPDATE`, [orderId]);
    return rows[0];
  }

  /**
   * Takes `items` for `orderId`, all or nothing. Returns what was decided: `reserved`, or
   * `rejected` with why; undefined when the order was decided before (an event seen twice, or an
   * order already released).
   */
  async reserve(tx: SqlExecutor, orderId: string, items: Item[], tokens: Tokens): Promise<{ status: 'reserved' } | { status: 'rejected'; reason: string } | undefined> {
    if (await this.reservation(tx, orderId)) return undefined;
    const wanted = merge(items);
    const rows = await this.lockRows(tx, [...wanted.keys()]);
    let reason = '';
    for (const [sku, quantity] of wanted) {
      const row = rows.get(sku);
      if (!row) reason ||= `unknown sku ${JSON.stringify(sku)}`;
      else if (row.available < quantity) reason ||= `out of stock: ${sku} has ${row.available}, ${quantity} wanted`;
    }
    if (reason) {
      await tx.query(`INSERT INTO inventory.reservations (order_id, items, status, reason) VALUES ($1, $2, 'rejected', $3)`, [orderId, JSON.stringify(items), reason]);
      return { status: 'rejected', reason };
    }
    await this.change(tx, wanted, tokens, 'available = available - $2, reserved = reserved + $2');
    await tx.query(`INSERT INTO inventory.reservations (order_id, items, status) VALUES ($1, $2, 'reserved')`, [orderId, JSON.stringify([...wanted].map(([sku, quantity]) => ({ sku, quantity })))]);
    return { status: 'reserved' };
  }

  /**
   * Puts an order's stock back: reserved stock (a cancelled order) or sold stock (a refunded one,
   * returned). An order not reserved (yet) is marked released, so a late reservation does not
   * happen. Returns the items released, if any.
   */
  async release(tx: SqlExecutor, orderId: string, items: Item[], tokens: Tokens): Promise<Item[] | undefined> {
    const r = await this.reservation(tx, orderId);
    if (!r) {
      await tx.query(`INSERT INTO inventory.reservations (order_id, items, status, reason) VALUES ($1, $2, 'released', 'cancelled before it was reserved')`, [orderId, JSON.stringify(items)]);
      return undefined;
    }
    if (r.status !== 'reserved' && r.status !== 'sold') return undefined;
    await this.change(tx, merge(r.items), tokens, r.status === 'reserved' ? 'available = available + $2, reserved = reserved - $2' : 'available = available + $2, sold = sold - $2');
    await tx.query(`UPDATE inventory.reservations SET status = 'released', updated_at = now() WHERE order_id = $1`, [orderId]);
    return r.items;
  }

  /** Turns a paid order's reservation into sold stock. Returns false when the order holds no reservation (it cannot be fulfilled). */
  async sell(tx: SqlExecutor, orderId: string, tokens: Tokens): Promise<boolean> {
    const r = await this.reservation(tx, orderId);
    if (r?.status === 'sold') return true;
    if (r?.status !== 'reserved') return false;
    await this.change(tx, merge(r.items), tokens, 'reserved = reserved - $2, sold = sold + $2');
    await tx.query(`UPDATE inventory.reservations SET status = 'sold', updated_at = now() WHERE order_id = $1`, [orderId]);
    return true;
  }

  async get(db: SqlExecutor, sku: string): Promise<Row | undefined> {
    const { rows } = await db.query<Row>(`SELECT sku, available, reserved, sold, fence FROM inventory.stock WHERE sku = $1`, [sku]);
    return rows[0];
  }

  private async lockRows(tx: SqlExecutor, skus: string[]): Promise<Map<string, Row>> {
    const { rows } = await tx.query<Row>(`SELECT sku, available, reserved, sold, fence FROM inventory.stock WHERE sku = ANY($1) ORDER BY sku FOR UPDATE`, [skus]);
    return new Map(rows.map((r) => [r.sku, r]));
  }

  /** One fenced UPDATE per SKU: refused (FencedWriteError, the transaction rolls back) when a newer token wrote it. */
  private async change(tx: SqlExecutor, quantities: Map<string, number>, tokens: Tokens, set: string): Promise<void> {
    for (const [sku, quantity] of [...quantities].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const token = tokens.get(sku);
      if (token === undefined) throw new Error(`no lock held for ${sku}`);
      const { rows } = await tx.query(`UPDATE inventory.stock SET ${set}, fence = $3 WHERE sku = $1 AND fence <= $3 RETURNING sku`, [sku, quantity, token]);
      if (rows.length === 0) throw new FencedWriteError(sku, token);
    }
  }
}

/** Quantities per SKU (an order may list a SKU twice). */
export function merge(items: readonly Item[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const { sku, quantity } of items) out.set(sku, (out.get(sku) ?? 0) + quantity);
  return out;
}
