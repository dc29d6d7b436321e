// The one seam between coord's outbox / idempotent consumers and a PostgreSQL driver: a query and
// a transaction. `fromPg(pool)` adapts node-postgres (a real server, DATABASE_URL) and
// `fromPGlite(db)` adapts PGlite (Postgres in WebAssembly, embedded): the same SQL runs on both.
// Neither driver is a dependency of coord: the caller passes the object it created.

/** Runs one statement; `$1, $2, …` placeholders. */
export interface SqlExecutor {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
}

/** A database: statements on their own, or several in one transaction. */
export interface SqlDatabase extends SqlExecutor {
  /** Runs `fn` in a transaction: committed when it resolves, rolled back when it rejects. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}

/** What coord uses of a node-postgres `Pool`. */
export interface PgPoolLike {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
  connect(): Promise<{
    query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
    release(err?: Error | boolean): void;
    on?(event: 'error', listener: (e: Error) => void): unknown;
    removeListener?(event: 'error', listener: (e: Error) => void): unknown;
  }>;
}

/** What coord uses of a PGlite instance. */
export interface PGliteLike {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
  transaction<T>(fn: (tx: { query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }> }) => Promise<T>): Promise<T>;
}

const exec = (q: (sql: string, params?: unknown[]) => Promise<{ rows: unknown[] }>): SqlExecutor => ({
  query: async <R>(sql: string, params?: readonly unknown[]) => (await q(sql, params ? [...params] : undefined)) as { rows: R[] },
});

/** A node-postgres Pool as a {@link SqlDatabase}. */
export function fromPg(pool: PgPoolLike): SqlDatabase {
  return {
    ...exec((sql, params) => pool.query(sql, params)),
    async transaction(fn) {
      const client = await pool.connect();
      // A checked-out client whose server goes away (PostgreSQL killed or restarted mid-transaction)
      // emits 'error'; with no listener that would end the process. The statement in flight
      // rejects with the same error, so the transaction fails here and the connection is discarded.
      let broken: Error | undefined;
      const onError = (e: Error) => void (broken = e);
      client.on?.('error', onError);
      const release = (err?: Error) => {
        client.removeListener?.('error', onError);
        client.release(err ?? broken);
      };
      try {
        await client.query('BEGIN');
        const result = await fn(exec((sql, params) => client.query(sql, params)));
        await client.query('COMMIT');
        release();
        return result;
      } catch (e) {
        // A failed ROLLBACK means the connection is broken: release(err) discards it from the pool.
        await client.query('ROLLBACK').then(
          () => release(),
          (rollbackError: Error) => release(rollbackError),
        );
        throw e;
      }
    },
  };
}

/** A PGlite instance as a {@link SqlDatabase}. */
export function fromPGlite(db: PGliteLike): SqlDatabase {
  return {
    ...exec((sql, params) => db.query(sql, params)),
    transaction: (fn) => db.transaction((tx) => fn(exec((sql, params) => tx.query(sql, params)))),
  };
}
