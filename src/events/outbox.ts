// The transactional outbox: events are written in the same database transaction as the change
// that raised them, and a relay (outbox-relay.ts) publishes them afterwards. Two stores share one
// small interface: PostgreSQL (node-postgres or PGlite, through sql.ts) for business data in a
// database, and etcd for state kept in etcd, where the event is one more op in the same txn.
import { randomUUID } from 'node:crypto';
import type { Coord } from '../coord.ts';
import { op } from '../client/etcd-client.ts';
import type { RequestOp } from '../protocol/etcd-types.ts';
import { checkEvent, type EventRecord } from './event.ts';
import type { SqlDatabase, SqlExecutor } from './sql.ts';

/** An event to add: `id` and `time` are filled in when left out. */
export type NewEvent<T = unknown> = Omit<EventRecord<T>, 'id' | 'time'> & { id?: string; time?: string };

/** An unsent event and the store's handle on it. */
export interface OutboxEntry {
  ref: string;
  event: EventRecord;
}

/** What the relay needs of an outbox. */
export interface OutboxSource {
  /** Unsent events, oldest first. */
  pending(limit: number): Promise<OutboxEntry[]>;
  /** Marks entries sent (they were published). */
  markSent(refs: readonly string[]): Promise<void>;
  /** Unsent events and the age of the oldest. */
  backlog(): Promise<{ count: number; oldestAgeMs: number }>;
}

/** etcd's default `--max-txn-ops`. */
const ETCD_MAX_TXN_OPS = 128;

const complete = <T>(e: NewEvent<T>): EventRecord<T> => {
  const event = { ...e, id: e.id ?? randomUUID(), time: e.time ?? new Date().toISOString() } as EventRecord<T>;
  checkEvent(event);
  return event;
};

/** Options for {@link PostgresOutbox}; defaults in each field's doc. */
export interface PostgresOutboxOptions {
  /** Table name. Default `coord_outbox`. */
  table?: string;
}

/** The outbox as a PostgreSQL table (works on node-postgres and PGlite alike). */
export class PostgresOutbox implements OutboxSource {
  private readonly table: string;

  constructor(
    private readonly db: SqlDatabase,
    options: PostgresOutboxOptions = {},
  ) {
    this.table = options.table ?? 'coord_outbox';
    if (!/^[a-z_][a-z0-9_]*$/.test(this.table)) throw new Error(`outbox table name ${JSON.stringify(this.table)}: lower-case letters, digits and _`);
  }

  /** Creates the table if it is missing (idempotent). */
  async migrate(): Promise<void> {
    await this.db.query(
      `CREATE TABLE IF NOT EXISTS ${this.table} (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        topic TEXT NOT NULL,
        type TEXT NOT NULL,
        key TEXT NOT NULL,
        data JSONB NOT NULL,
        time TIMESTAMPTZ NOT NULL,
        sent_at TIMESTAMPTZ
      )`,
    );
    await this.db.query(`CREATE INDEX IF NOT EXISTS ${this.table}_unsent ON ${this.table} (seq) WHERE sent_at IS NULL`);
  }

  /** Adds events inside the caller's transaction `tx`: they exist exactly when the transaction commits. */
  async add<T>(tx: SqlExecutor, events: ReadonlyArray<NewEvent<T>>): Promise<Array<EventRecord<T>>> {
    const out = events.map(complete);
    for (const e of out) {
      await tx.query(`INSERT INTO ${this.table} (id, topic, type, key, data, time) VALUES ($1, $2, $3, $4, $5, $6)`, [e.id, e.topic, e.type, e.key, JSON.stringify(e.data), e.time]);
    }
    return out;
  }

  async pending(limit: number): Promise<OutboxEntry[]> {
    const { rows } = await this.db.query<{ seq: string; id: string; topic: string; type: string; key: string; data: unknown; time: Date | string }>(
      `SELECT seq, id, topic, type, key, data, time FROM ${this.table} WHERE sent_at IS NULL ORDER BY seq LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({
      ref: String(r.seq),
      event: { id: r.id, topic: r.topic, type: r.type, key: r.key, data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data, time: new Date(r.time).toISOString() },
    }));
  }

  async markSent(refs: readonly string[]): Promise<void> {
    if (refs.length > 0) await this.db.query(`UPDATE ${this.table} SET sent_at = now() WHERE seq = ANY($1::bigint[])`, [refs]);
  }

  async backlog(): Promise<{ count: number; oldestAgeMs: number }> {
    const { rows } = await this.db.query<{ count: string; oldest: Date | string | null }>(`SELECT count(*) AS count, min(time) AS oldest FROM ${this.table} WHERE sent_at IS NULL`);
    const [r] = rows;
    return { count: Number(r.count), oldestAgeMs: r.oldest ? Math.max(0, Date.now() - new Date(r.oldest).getTime()) : 0 };
  }

  /** Deletes sent events older than `olderThanMs`. */
  async prune(olderThanMs: number): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>(
      `WITH d AS (DELETE FROM ${this.table} WHERE sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => $1) RETURNING 1) SELECT count(*) AS n FROM d`,
      [olderThanMs / 1000],
    );
    return Number(rows[0].n);
  }
}

/** The outbox in etcd, for state kept in etcd: `op()` is one more operation of the caller's own txn. */
export class EtcdOutbox implements OutboxSource {
  private readonly prefix: string;

  constructor(
    private readonly coord: Coord,
    name: string,
  ) {
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) throw new Error(`outbox name ${JSON.stringify(name)}: lower-case letters, digits, - and _`);
    this.prefix = `${coord.namespace}outbox/${name}/`;
  }

  /**
   * The put that adds `event`, to put in the same txn as the change
   * (`coord.etcd.txn({ success: [change, outbox.op(e)] })`). Events of one txn share a create
   * revision; the key's counter keeps them in the order their ops were made.
   */
  op<T>(event: NewEvent<T>): RequestOp {
    const e = complete(event);
    const order = (this.counter++).toString(36).padStart(8, '0');
    return op.put(`${this.prefix}${order}-${encodeURIComponent(e.id)}`, JSON.stringify(e));
  }

  private counter = 0;

  /** Oldest first: by create revision, then by key within one txn. A page never splits a txn's events. */
  async pending(limit: number): Promise<OutboxEntry[]> {
    const etcd = this.coord.etcd;
    let kvs = (await etcd.range(this.prefix, { prefix: true, sort: { target: 'create', order: 'ascend' }, limit })).kvs;
    if (kvs.length === limit && limit > 0) {
      const last = kvs[kvs.length - 1].createRevision;
      const whole = kvs.filter((kv) => kv.createRevision !== last);
      // The last txn's events may continue past the page: read that txn whole, or leave it for the next page.
      kvs = whole.length > 0 ? whole : (await etcd.range(this.prefix, { prefix: true, minCreateRevision: last, maxCreateRevision: last })).kvs;
    }
    return [...kvs]
      .sort((a, b) => a.createRevision - b.createRevision || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((kv) => ({ ref: kv.key, event: JSON.parse(kv.value.toString()) as EventRecord }));
  }

  async markSent(refs: readonly string[]): Promise<void> {
    // Sent events are deleted: etcd keeps coordination state, not an archive. etcd takes at most
    // 128 operations per txn (--max-txn-ops), so a larger batch is deleted in chunks.
    for (let i = 0; i < refs.length; i += ETCD_MAX_TXN_OPS) await this.coord.etcd.txn({ success: refs.slice(i, i + ETCD_MAX_TXN_OPS).map((k) => op.delete(k)) });
  }

  async backlog(): Promise<{ count: number; oldestAgeMs: number }> {
    const [{ count }, oldest] = await Promise.all([
      this.coord.etcd.range(this.prefix, { prefix: true, countOnly: true }),
      this.coord.etcd.range(this.prefix, { prefix: true, sort: { target: 'create', order: 'ascend' }, limit: 1 }),
    ]);
    const first = oldest.kvs[0] ? (JSON.parse(oldest.kvs[0].value.toString()) as EventRecord) : undefined;
    return { count, oldestAgeMs: first ? Math.max(0, Date.now() - new Date(first.time).getTime()) : 0 };
  }
}
