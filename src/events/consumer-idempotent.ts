// An idempotent consumer: the processed event id is recorded in the same database transaction as
// the consumer's effect, so the effect happens once however often the event arrives.
import type { Delivery, EventHandler } from './event.ts';
import type { SqlDatabase, SqlExecutor } from './sql.ts';

const TABLE = 'coord_processed_events';

/** Creates the processed-events table if it is missing (idempotent). */
export async function migrateProcessed(db: SqlDatabase): Promise<void> {
  await db.query(
    `CREATE TABLE IF NOT EXISTS ${TABLE} (
      consumer TEXT NOT NULL,
      event_id TEXT NOT NULL,
      processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, event_id)
    )`,
  );
}

/**
 * A handler that runs `effect` in a transaction together with recording `(consumer, event id)`;
 * an event already recorded for `consumer` is acknowledged without running `effect` again.
 */
export function idempotent<T>(db: SqlDatabase, consumer: string, effect: (event: Delivery<T>, tx: SqlExecutor, signal: AbortSignal) => Promise<void>): EventHandler<T> {
  return (event, signal) =>
    db.transaction(async (tx) => {
      const { rows } = await tx.query(`INSERT INTO ${TABLE} (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1 AS new`, [consumer, event.id]);
      if (rows.length === 0) return; // processed before: its effect committed with the record
      await effect(event, tx, signal);
    });
}
