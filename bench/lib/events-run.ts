// One row of the events bench: orders committed at a fixed rate, each raising one event, and a
// consumer group applying each event's effect; time runs from the order's commit to the effect's
// commit. `direct` publishes after the commit (no outbox: the dual write the outbox replaces);
// `outbox` adds the event in the order's transaction and a relay publishes it. Durable writes are
// counted where they happen: SQL commits that wrote, etcd revisions, JetStream stored messages.
import { randomUUID } from 'node:crypto';
import { compare, op } from '../../src/client/etcd-client.ts';
import { idempotent, migrateProcessed } from '../../src/events/consumer-idempotent.ts';
import type { EventHandler, EventRecord } from '../../src/events/event.ts';
import { EtcdOutbox, PostgresOutbox, type OutboxSource } from '../../src/events/outbox.ts';
import { startRelay } from '../../src/events/outbox-relay.ts';
import { percentile, sleep } from './harness.ts';
import { startOpenLoop } from './open-loop.ts';
import type { Bed } from './events-servers.ts';
import { countWrites } from './sql-write-counter.ts';

export type Mode = 'direct' | 'outbox';

export interface RunOptions {
  mode: Mode;
  /** Orders (= events) offered per second. */
  rate: number;
  warmupMs: number;
  durationMs: number;
  /** How long to wait after the load for every committed event's effect. */
  drainMs: number;
  /** The consumer's effect: `idempotent` (processed id + an UPDATE in one transaction; etcd: one txn) or `none` (the handler returns at once: the engine alone). */
  effect: 'idempotent' | 'none';
  /** Relay knobs (library defaults when undefined). */
  batch?: number;
  pollMs?: number;
}

export interface RunResult {
  /** Orders committed per second in the measured window (the producer's achieved rate). */
  commitsPerSec: number;
  /** Effects committed per second in the measured window (sustained events/s). */
  effectsPerSec: number;
  /** Commit → effect of the orders committed in the measured window, ms; Infinity past `drainMs`. */
  p50: number;
  p99: number;
  /** Committed orders whose effect never came within the drain. */
  missing: number;
  /** Orders that failed to commit (or, direct, to publish). */
  failed: number;
  /** Durable writes per event, by who wrote. */
  writes: { order: number; markSent: number; engine: number; effect: number; total: number };
}

const EFFECT_PREFIX = 'effects/';
let runs = 0;

export async function runEvents(bed: Bed, o: RunOptions): Promise<RunResult> {
  const n = ++runs;
  const topic = `bench${n}_${process.pid}`;
  const committed = new Map<string, number>();
  const effected = new Map<string, number>();
  let failed = 0;

  // The business store: an orders table (SQL) or order keys (etcd), and an outbox on it.
  const sql = bed.sql;
  const producer = sql ? countWrites(sql) : undefined;
  const effectDb = sql ? countWrites(sql) : undefined;
  const orders = `bench_orders_${n}`;
  let outbox: OutboxSource;
  let pgOutbox: PostgresOutbox | undefined;
  let etcdOutbox: EtcdOutbox | undefined;
  let etcdCommits = 0;
  let etcdEffects = 0;
  if (sql) {
    await sql.query(`CREATE TABLE ${orders} (id TEXT PRIMARY KEY, status TEXT NOT NULL)`);
    await migrateProcessed(sql);
    pgOutbox = new PostgresOutbox(sql, { table: `bench_outbox_${n}` });
    await pgOutbox.migrate();
    outbox = pgOutbox;
  } else {
    etcdOutbox = new EtcdOutbox(bed.coord, `bench${n}`);
    outbox = etcdOutbox;
  }
  let marks = 0;
  const counted: OutboxSource = {
    pending: (limit) => outbox.pending(limit),
    backlog: () => outbox.backlog(),
    async markSent(refs) {
      await outbox.markSent(refs);
      if (refs.length > 0) marks++;
    },
  };
  const etcd = bed.coord.etcd;
  const ns = bed.coord.namespace;

  const event = (id: string): EventRecord => ({ id, topic, type: 'OrderCreated', key: id, data: { order: id }, time: new Date().toISOString() });

  async function placeOrder(): Promise<void> {
    const id = randomUUID();
    const e = event(id);
    try {
      if (sql) {
        await producer!.db.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${orders} (id, status) VALUES ($1, 'created')`, [id]);
          if (o.mode === 'outbox') await pgOutbox!.add(tx, [e]);
        });
      } else {
        await etcd.txn({ success: [op.put(`${ns}orders/${topic}/${id}`, 'created'), ...(o.mode === 'outbox' ? [etcdOutbox!.op(e)] : [])] });
        etcdCommits++;
      }
      committed.set(id, performance.now());
      if (o.mode === 'direct') await bed.engine.publish([e]);
    } catch (err) {
      failed++;
      if (failed <= 3) console.error(`  order failed: ${(err as Error).message}`);
    }
  }

  // The etcd counterpart of an idempotent consumer: the effect and its processed mark in one txn.
  const etcdEffect: EventHandler<{ order: string }> = async (ev) => {
    const done = `${ns}${EFFECT_PREFIX}${topic}/${ev.id}`;
    const r = await etcd.txn({ compare: [compare.createRevision(done, '=', 0)], success: [op.put(done, 'seen')] });
    if (r.succeeded) etcdEffects++;
  };
  const sqlEffect = () => idempotent<{ order: string }>(effectDb!.db, `bench${n}`, async (ev, tx) => void (await tx.query(`UPDATE ${orders} SET status = 'seen' WHERE id = $1`, [ev.key])));
  const effect: EventHandler<{ order: string }> = o.effect === 'none' ? async () => {} : sql ? sqlEffect() : etcdEffect;
  const sub = bed.engine.subscribe<{ order: string }>(topic, 'bench', async (ev, signal) => {
    await effect(ev, signal);
    if (!effected.has(ev.id)) effected.set(ev.id, performance.now());
  });
  await sub.ready;
  const relay =
    o.mode === 'outbox'
      ? startRelay({
          coord: bed.coord,
          outbox: counted,
          engine: bed.engine,
          name: `bench${n}`,
          // Left out when unset: the relay merges its options over its defaults, and an undefined would win.
          ...(o.batch === undefined ? {} : { batch: o.batch }),
          ...(o.pollMs === undefined ? {} : { pollMs: o.pollMs }),
          log: (l) => console.error(`  ${l}`),
        })
      : undefined;
  while (relay && !relay.stats().leader) await sleep(20);

  const revision = async () => (await etcd.range(`${ns}revision-probe`)).revision;
  const rev0 = await revision();
  producer?.reset();
  effectDb?.reset();

  const loop = startOpenLoop(o.rate, placeOrder);
  await sleep(o.warmupMs);
  const windowStart = performance.now();
  await sleep(o.durationMs);
  const windowEnd = performance.now();
  await loop.stop();
  const drainDeadline = performance.now() + o.drainMs;
  while ([...committed.keys()].some((id) => !effected.has(id)) && performance.now() < drainDeadline) await sleep(50);
  while (relay && (await outbox.backlog()).count > 0 && performance.now() < drainDeadline) await sleep(50);

  const inWindow = (t: number) => t >= windowStart && t < windowEnd;
  const measured = [...committed].filter(([, t]) => inWindow(t));
  const latencies = Float64Array.from(measured.map(([id, t]) => (effected.has(id) ? Math.max(0, effected.get(id)! - t) : Infinity))).sort();
  const missing = [...committed.keys()].filter((id) => !effected.has(id)).length;
  const windowS = (windowEnd - windowStart) / 1000;

  const events = committed.size;
  const etcdWrites = (await revision()) - rev0;
  const orderWrites = sql ? producer!.commits() : etcdCommits;
  const effectWrites = sql ? effectDb!.commits() : etcdEffects;
  // What the coordination server wrote besides the etcd outbox's orders, marks and effects: the etcd engine's own writes (log, cursors, trims).
  const etcdRest = etcdWrites - (sql ? 0 : etcdCommits + marks + etcdEffects);
  const engineWrites = bed.engine.name === 'etcd' ? etcdRest : (await bed.engine.stats(topic)).events + etcdRest;

  await relay?.close();
  await sub.close();
  const per = (x: number) => x / Math.max(1, events);
  return {
    commitsPerSec: measured.length / windowS,
    effectsPerSec: [...effected.values()].filter(inWindow).length / windowS,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    missing,
    failed,
    writes: { order: per(orderWrites), markSent: per(marks), engine: per(engineWrites), effect: per(effectWrites), total: per(orderWrites + marks + engineWrites + effectWrites) },
  };
}
