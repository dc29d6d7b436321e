// fromPg's transaction when PostgreSQL dies under it: the transaction rejects and the process
// goes on. (A checked-out node-postgres client emits 'error' when its server goes away; without a
// listener that ended the process — the shop's instances crashed when PostgreSQL was killed.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { fromPg } from '../../src/events/sql.ts';
import { requirePostgres, startPostgres } from '../helpers/postgres-process.ts';

describe('fromPg when PostgreSQL is killed mid-transaction', { skip: requirePostgres() }, () => {
  it('rejects the transaction, keeps the process, and works again after the restart', async () => {
    const server = await startPostgres();
    const pool = new pg.Pool({ connectionString: server.url, max: 2 });
    pool.on('error', () => {}); // idle clients of a killed server: the pool discards them (nothing in flight)
    const db = fromPg(pool);
    try {
      await db.query('CREATE TABLE IF NOT EXISTS t (v int)');
      let inside!: () => void;
      const started = new Promise<void>((r) => (inside = r));
      const tx = db.transaction(async (q) => {
        await q.query('INSERT INTO t VALUES (1)');
        inside();
        await q.query('SELECT pg_sleep(30)');
      });
      await started;
      await server.kill('SIGKILL');
      await assert.rejects(tx, /terminat|ECONNRESET|Connection/i);
      await server.restart();
      // The insert of the failed transaction is gone; the pool serves again.
      await db.transaction(async (q) => void (await q.query('INSERT INTO t VALUES (2)')));
      assert.deepEqual((await db.query<{ v: number }>('SELECT v FROM t ORDER BY v')).rows.map((r) => r.v), [2]);
    } finally {
      await pool.end();
      await server.stop();
    }
  });
});
