// What the PGlite bridge (src/cli/pglite-server.ts, the database `coord dev --demo` serves) costs a
// `pg` client per round trip, against a real PostgreSQL measured in the same run: a simple SELECT
// with a parameter (extended protocol, as the shop sends it) and a 3-statement transaction
// (BEGIN, UPDATE, COMMIT: three round trips). One client, sequential; medians and p99 in ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPGliteServer } from '../src/cli/pglite-server.ts';
import { startPostgres } from '../test/helpers/postgres-process.ts';
import { cpus, loadavg } from 'node:os';
import { watchdog } from './lib/backends.ts';
import { percentile, printTable } from './lib/harness.ts';

const SELECTS = 3000;
const TRANSACTIONS = 1000;

interface Result {
  select: Float64Array;
  transaction: Float64Array;
}

async function measure(url: string): Promise<Result> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('CREATE TABLE IF NOT EXISTS bench_counter (id int PRIMARY KEY, n int NOT NULL)');
    await c.query('INSERT INTO bench_counter VALUES (1, 0) ON CONFLICT (id) DO NOTHING');
    const timed = async (n: number, body: () => Promise<unknown>) => {
      for (let i = 0; i < Math.min(200, n / 5); i++) await body(); // warm-up
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await body();
        out[i] = performance.now() - t0;
      }
      return out.sort();
    };
    const select = await timed(SELECTS, () => c.query('SELECT $1::int AS v', [1]));
    const transaction = await timed(TRANSACTIONS, async () => {
      await c.query('BEGIN');
      await c.query('UPDATE bench_counter SET n = n + 1 WHERE id = $1', [1]);
      await c.query('COMMIT');
    });
    return { select, transaction };
  } finally {
    await c.end();
  }
}

export async function run(): Promise<void> {
  const dog = watchdog('pglite-bridge', 600_000);
  console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; node ${process.version}`);
  console.log('noisy machine: other work shares these cores; compare ratios, not absolute figures');
  console.log('PostgreSQL fsyncs each commit; PGlite runs with fsync off (-F, its default), and the bridge shares this process with the client\n');
  const postgres = await startPostgres();
  let reference: Result;
  try {
    console.log(`measuring PostgreSQL (pid ${postgres.pid}, ${postgres.url}; fsync on, as installed)...`);
    reference = await measure(postgres.url);
  } finally {
    await postgres.stop();
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'coord-bench-pglite-'));
  const bridge = await startPGliteServer({ dataDir, log: () => {} });
  let bridged: Result;
  try {
    console.log(`measuring the PGlite bridge (${bridge.url}, in this process)...`);
    bridged = await measure(bridge.url);
  } finally {
    await bridge.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const ms = (x: number) => x.toFixed(3);
  const rows: string[][] = [];
  for (const [label, key, n] of [['SELECT $1 (1 round trip)', 'select', SELECTS], ['BEGIN; UPDATE; COMMIT (3 round trips)', 'transaction', TRANSACTIONS]] as const) {
    const [a, b] = [reference[key], bridged[key]];
    const p50 = [percentile(a, 50), percentile(b, 50)];
    const p99 = [percentile(a, 99), percentile(b, 99)];
    rows.push([label, String(n), ms(p50[0]), ms(p50[1]), `${(p50[1] / p50[0]).toFixed(2)}x`, ms(p99[0]), ms(p99[1]), `${(p99[1] / p99[0]).toFixed(2)}x`]);
  }
  console.log('');
  printTable(['pg client, sequential', 'runs', 'PostgreSQL p50 ms', 'bridge p50 ms', 'ratio', 'PostgreSQL p99 ms', 'bridge p99 ms', 'ratio'], rows);
  dog.clear();
}
