// The PGlite bridge (src/cli/pglite-server.ts) against a real PostgreSQL, the same assertions on
// both through plain `pg` and raw protocol bytes: what the shop's processes rely on when
// `coord dev --demo` serves them one PGlite database.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startPGliteServer, type PGliteServer } from '../../src/cli/pglite-server.ts';
import { requirePostgres, startPostgres } from '../helpers/postgres-process.ts';
import { errorFields, frontendMessage, queryMessage, RawPgClient, startupMessage } from '../helpers/pg-raw-client.ts';

interface Target {
  readonly url: string;
  /** Stops the server and starts it again on the same data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

interface Server {
  name: string;
  skip: string | undefined;
  start(): Promise<Target>;
}

function bridge(logLines: string[]): Server {
  return {
    name: 'PGlite bridge',
    skip: undefined,
    async start() {
      const dataDir = mkdtempSync(join(tmpdir(), 'coord-pglite-'));
      const open = () => startPGliteServer({ dataDir, log: (l) => logLines.push(l) });
      let server: PGliteServer = await open();
      return {
        get url() {
          return server.url;
        },
        async restart() {
          await server.close();
          server = await open();
        },
        async stop() {
          await server.close();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  };
}

function postgres(): Server {
  return {
    name: 'PostgreSQL',
    skip: requirePostgres(),
    async start() {
      const p = await startPostgres();
      return {
        url: p.url,
        async restart() {
          await p.kill('SIGINT'); // fast shutdown: sessions are ended, open transactions rolled back
          await p.restart();
        },
        stop: () => p.stop(),
      };
    },
  };
}

/** A connected client whose asynchronous errors (a FATAL while idle) are collected instead of crashing the test. */
async function client(url: string): Promise<pg.Client & { errors: Error[] }> {
  const c = Object.assign(new pg.Client({ connectionString: url }), { errors: [] as Error[] });
  c.on('error', (e) => c.errors.push(e));
  await c.connect();
  return c;
}

const bridgeLog: string[] = [];
for (const server of [postgres(), bridge(bridgeLog)]) {
  describe(server.name, { skip: server.skip }, () => {
    let target: Target;
    before(async () => {
      target = await server.start();
    });
    after(async () => {
      await target?.stop();
    });

    test('extended protocol: parameters in, typed rows out, NULLs kept', async () => {
      const c = await client(target.url);
      try {
        await c.query('CREATE TABLE items (id int PRIMARY KEY, name text, price numeric)');
        for (const [id, name, price] of [[1, 'book', '9.50'], [2, null, '1']] as const) await c.query('INSERT INTO items VALUES ($1, $2, $3)', [id, name, price]);
        const r = await c.query('SELECT id, name, price, $1::int + $2::int AS sum FROM items WHERE id >= $3 ORDER BY id', [40, 2, 1]);
        assert.deepEqual(r.rows, [
          { id: 1, name: 'book', price: '9.50', sum: 42 },
          { id: 2, name: null, price: '1', sum: 42 },
        ]);
        await assert.rejects(c.query('SELECT $1::int', ['not a number']), { code: '22P02' });
        assert.equal((await c.query('SELECT count(*)::int AS n FROM items')).rows[0].n, 2, 'the connection works after an error outside a transaction');
      } finally {
        await c.end();
      }
    });

    test('an error inside a transaction aborts it (25P02 until ROLLBACK); ROLLBACK undoes it and the connection goes on', async () => {
      const c = await client(target.url);
      try {
        await c.query('CREATE TABLE tx_error (v text)');
        await c.query('BEGIN');
        await c.query('INSERT INTO tx_error VALUES ($1)', ['doomed']);
        await assert.rejects(c.query('SELECT 1 / $1::int', [0]), { code: '22012' });
        await assert.rejects(c.query('SELECT 1'), { code: '25P02' });
        await c.query('ROLLBACK');
        assert.deepEqual((await c.query('SELECT v FROM tx_error')).rows, []);
        await c.query('INSERT INTO tx_error VALUES ($1)', ['kept']);
        assert.deepEqual((await c.query('SELECT v FROM tx_error')).rows, [{ v: 'kept' }]);
      } finally {
        await c.end();
      }
    });

    test('two pooled connections run 200 read-then-write transactions on one counter: exactly 200', async () => {
      const pool = new pg.Pool({ connectionString: target.url, max: 2 });
      try {
        await pool.query('CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)');
        await pool.query('INSERT INTO counter VALUES (1, 0)');
        const worker = async () => {
          const c = await pool.connect();
          try {
            for (let i = 0; i < 100; i++) {
              await c.query('BEGIN');
              const { n } = (await c.query('SELECT n FROM counter WHERE id = 1 FOR UPDATE')).rows[0];
              // Computed here, not in SQL, and the other worker gets a turn in between:
              // transactions that interleave would lose updates.
              await new Promise((resolve) => setTimeout(resolve, 1));
              await c.query('UPDATE counter SET n = $1 WHERE id = 1', [n + 1]);
              await c.query('COMMIT');
            }
          } finally {
            c.release();
          }
        };
        await Promise.all([worker(), worker()]);
        assert.equal((await pool.query('SELECT n FROM counter WHERE id = 1')).rows[0].n, 200);
      } finally {
        await pool.end();
      }
    });

    test('a client killed mid-transaction leaves no half-transaction behind', async () => {
      const other = await client(target.url);
      const victim = await client(target.url);
      try {
        await other.query('CREATE TABLE kill_test (v text)');
        await other.query('CREATE TABLE kill_counter (id int PRIMARY KEY, n int)');
        await other.query('INSERT INTO kill_counter VALUES (1, 0)');
        await victim.query('BEGIN');
        await victim.query('INSERT INTO kill_test VALUES ($1)', ['half']);
        await victim.query('UPDATE kill_counter SET n = n + 1000 WHERE id = 1');
        (victim as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
        // Waits for the victim's row lock to go (real PostgreSQL) or for the database (the bridge).
        await other.query('UPDATE kill_counter SET n = n + 1 WHERE id = 1');
        assert.deepEqual((await other.query('SELECT n FROM kill_counter')).rows, [{ n: 1 }]);
        assert.deepEqual((await other.query('SELECT v FROM kill_test')).rows, []);
        await other.query('INSERT INTO kill_test VALUES ($1)', ['whole']);
        assert.deepEqual((await other.query('SELECT v FROM kill_test')).rows, [{ v: 'whole' }]);
      } finally {
        await other.end();
      }
    });

    test('a client gone mid extended-protocol sequence (Parse, no Sync) leaves the next client a clean session', async () => {
      const raw = await RawPgClient.connect(target.url);
      await raw.write(startupMessage({ user: 'postgres', database: 'postgres' }));
      await raw.untilReady();
      await raw.write(queryMessage('BEGIN; CREATE TABLE half_sequence (v int)'));
      await raw.untilReady();
      await raw.write(Buffer.concat([frontendMessage('P', Buffer.from('\0SELECT 1\0\0\0')), frontendMessage('H', Buffer.alloc(0))]));
      assert.equal((await raw.next())?.type, '1', 'ParseComplete');
      raw.destroy();
      const c = await client(target.url);
      try {
        await assert.rejects(c.query('SELECT * FROM half_sequence'), { code: '42P01' });
        assert.deepEqual((await c.query('SELECT 2 AS two')).rows, [{ two: 2 }]);
      } finally {
        await c.end();
      }
    });

    test('a restart on the same data keeps committed rows and none of an open transaction', async () => {
      const c = await client(target.url);
      const open = await client(target.url);
      await c.query('CREATE TABLE durable (v text)');
      await c.query("INSERT INTO durable VALUES ('committed')");
      await c.end();
      await open.query('BEGIN');
      await open.query("INSERT INTO durable VALUES ('uncommitted')");
      await target.restart();
      await assert.rejects(open.query('SELECT 1'), 'the open transaction\'s connection was ended');
      const after = await client(target.url);
      try {
        assert.deepEqual((await after.query('SELECT v FROM durable')).rows, [{ v: 'committed' }]);
      } finally {
        await after.end();
      }
    });

    test('a malformed startup packet gets a FATAL 08P01 and the connection is closed; others are served', async () => {
      const bad = await RawPgClient.connect(target.url);
      const packet = startupMessage({ user: 'postgres' }).subarray(0, -1); // no terminating NUL
      packet.writeInt32BE(packet.length, 0);
      await bad.write(packet);
      const m = await bad.next();
      assert.equal(m?.type, 'E');
      assert.deepEqual([errorFields(m!.body).S, errorFields(m!.body).C], ['FATAL', '08P01']);
      await bad.closed;

      const newProtocol = await RawPgClient.connect(target.url);
      await newProtocol.write(startupMessage({ user: 'postgres' }, 4 << 16));
      const m2 = await newProtocol.next();
      assert.equal(m2 && errorFields(m2.body).C, '0A000');
      await newProtocol.closed;

      const badLength = await RawPgClient.connect(target.url);
      await badLength.write(Buffer.from([0, 0, 0, 3]));
      await badLength.closed;

      const c = await client(target.url);
      try {
        assert.deepEqual((await c.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
      } finally {
        await c.end();
      }
    });

    test('framing: SSLRequest answered N; a message split byte by byte and two messages in one write', async () => {
      const raw = await RawPgClient.connect(target.url);
      try {
        const ssl = Buffer.alloc(8);
        ssl.writeInt32BE(8, 0);
        ssl.writeInt32BE(80877103, 4);
        await raw.write(ssl);
        assert.equal(await raw.byte(), 'N');
        const startup = startupMessage({ user: 'postgres', database: 'postgres' });
        await raw.write(startup.subarray(0, 3));
        await raw.write(startup.subarray(3));
        const greetingMessages = await raw.untilReady().catch((e: Error) => {
          throw new Error(`${e.message}: ${JSON.stringify(errorFields((e as Error & { last?: Buffer }).last ?? Buffer.alloc(0)))}`);
        });
        const greeting = greetingMessages.map((m) => m.type);
        assert.equal(greeting[0], 'R');
        assert.ok(greeting.includes('K') && greeting.includes('S'), `AuthenticationOk, ParameterStatus…, BackendKeyData, ReadyForQuery; got ${greeting.join(' ')}`);
        assert.equal(greeting.at(-1), 'Z');

        for (const byte of queryMessage("SELECT 'split' AS v")) await raw.write(Buffer.from([byte]));
        const split = await raw.untilReady();
        assert.deepEqual(split.map((m) => m.type), ['T', 'D', 'C', 'Z']);
        assert.match(split[1].body.toString(), /split/);

        await raw.write(Buffer.concat([queryMessage('SELECT 1'), queryMessage('SELECT 2')]));
        assert.deepEqual((await raw.untilReady()).map((m) => m.type), ['T', 'D', 'C', 'Z']);
        assert.deepEqual((await raw.untilReady()).map((m) => m.type), ['T', 'D', 'C', 'Z']);
      } finally {
        raw.destroy();
      }
    });
  });
}

describe('PGlite bridge limits', () => {
  let dataDir: string;
  let server: PGliteServer;
  const lines: string[] = [];
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'coord-pglite-limits-'));
    server = await startPGliteServer({ dataDir, log: (l) => lines.push(l), maxConnections: 3, maxMessageBytes: 4096, idleInTransactionTimeoutMs: 1000 });
  });
  after(async () => {
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('a message over maxMessageBytes: FATAL 54000 naming the limit, logged; the server goes on', async () => {
    const c = await client(server.url);
    await assert.rejects(c.query(`SELECT '${'x'.repeat(5000)}'`), (e: Error & { code?: string }) => {
      assert.equal(e.code, '54000');
      assert.match(e.message, /larger than this server's limit of 4096 bytes \(maxMessageBytes\)/);
      return true;
    });
    assert.ok(lines.some((l) => /maxMessageBytes/.test(l)), lines.join('\n'));
    const d = await client(server.url);
    assert.deepEqual((await d.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
    await d.end();
  });

  test('one connection over maxConnections: 53300 as PostgreSQL sends it', async () => {
    const held = await Promise.all([client(server.url), client(server.url), client(server.url)]);
    await assert.rejects(client(server.url), (e: Error & { code?: string }) => (assert.equal(e.code, '53300'), true));
    await Promise.all(held.map((c) => c.end()));
  });

  test('a holder idle inside a transaction is closed after idleInTransactionTimeoutMs (rolled back) and a waiting client goes on', async () => {
    const idle = await client(server.url);
    await idle.query('CREATE TABLE idle_test (v text)');
    await idle.query('BEGIN');
    await idle.query("INSERT INTO idle_test VALUES ('idle')");
    const other = await client(server.url);
    assert.deepEqual((await other.query('SELECT v FROM idle_test')).rows, []);
    await other.end();
    assert.equal((idle.errors[0] as Error & { code?: string })?.code, '25P03');
    assert.ok(lines.some((l) => /idle-in-transaction timeout/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /closed while holding the database: rolled back$/.test(l)), lines.join('\n'));
  });
});
