// The shop's business data lives in PostgreSQL (DATABASE_URL; PGlite behind `coord dev`'s wire
// bridge by default): one `pg` Pool per process, used only with transaction-scoped features (no
// session advisory locks, LISTEN, temp tables, session SET or named statements), so the same SQL
// runs through the PGlite bridge, where every connection shares one session.
import type pg from 'pg';
import { fromPg, migrateProcessed, PostgresOutbox, type SqlDatabase, type SqlExecutor } from 'etcd-coord/events';

/** node-postgres, an optional peer dependency of etcd-coord: loaded on first use, with a clear error when missing. */
let driver: Promise<typeof pg> | undefined;
function loadPg(): Promise<typeof pg> {
  driver ??= import('pg').then(
    (m) => m.default,
    (e: Error) => {
      throw new Error(`the shop needs the pg package (npm install pg): ${e.message}`);
    },
  );
  return driver;
}

export interface Database {
  sql: SqlDatabase;
  pool: pg.Pool;
  close(): Promise<void>;
}

/** `postgres://user@host:port/db` without the password, for messages. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return JSON.stringify(url);
  }
}

/** Resolves when `url` answers a query; rejects with one line saying where and why it could not. */
export async function checkDatabase(url: string, timeoutMs = 5000): Promise<void> {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new Error(`DATABASE_URL must be a postgres:// URL, got ${JSON.stringify(url)}`);
  const { Client } = await loadPg();
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (e) {
    const err = e as Error & { code?: string };
    throw new Error(`cannot reach the shop database at ${describeUrl(url)} (DATABASE_URL): ${err.message || err.code || String(e)}`);
  } finally {
    await client.end().catch(() => {}); // the connection failed or is done; nothing to keep
  }
}

export async function openDatabase(url: string, log: (line: string) => void): Promise<Database> {
  const pool = new (await loadPg()).Pool({ connectionString: url, max: 5, connectionTimeoutMillis: 10_000 });
  // An idle connection dropped by the server (a restart) is an error event on the pool: the next query takes a new one.
  pool.on('error', (e) => log(`database connection lost: ${e.message}`));
  return { sql: fromPg(pool), pool, close: () => pool.end() };
}

/** Runs `statements` (and the outbox / processed-events tables) in one transaction holding a transaction-scoped advisory lock, so instances starting at once migrate one after the other. */
export async function migrate(db: SqlDatabase, schema: string, statements: readonly string[], outboxTable?: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('shop-migrations'))`);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    for (const s of statements) await tx.query(s);
    const inTx = asDatabase(tx);
    await migrateProcessed(inTx);
    if (outboxTable) await new PostgresOutbox(inTx, { table: outboxTable }).migrate();
  });
}

/** A transaction's executor seen as a database, for library migrations that only run single statements. */
function asDatabase(tx: SqlExecutor): SqlDatabase {
  return { query: (sql, params) => tx.query(sql, params), transaction: (fn) => fn(tx) };
}
