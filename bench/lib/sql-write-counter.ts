// Counts durable writes on a SqlDatabase: every committed transaction that wrote something, and
// every writing statement run on its own (autocommit), is one commit the database makes durable.
// The events bench counts these per event instead of asserting them.
import type { SqlDatabase, SqlExecutor } from '../../src/events/sql.ts';

const WRITE = /^\s*(insert|update|delete|with\b[\s\S]*\b(insert|update|delete)\b)/i;

export interface CountedDatabase {
  db: SqlDatabase;
  /** Durable commits that wrote, since the last reset. */
  commits(): number;
  reset(): void;
}

export function countWrites(inner: SqlDatabase): CountedDatabase {
  let commits = 0;
  const db: SqlDatabase = {
    async query(sql, params) {
      const r = await inner.query(sql, params);
      if (WRITE.test(sql)) commits++;
      return r as never;
    },
    async transaction(fn) {
      let wrote = false;
      const result = await inner.transaction((tx: SqlExecutor) =>
        fn({
          query: (sql, params) => {
            if (WRITE.test(sql)) wrote = true;
            return tx.query(sql, params);
          },
        }),
      );
      if (wrote) commits++;
      return result;
    },
  };
  return { db, commits: () => commits, reset: () => void (commits = 0) };
}
