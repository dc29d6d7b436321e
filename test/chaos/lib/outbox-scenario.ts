// The outbox chaos run: the shop (examples/shop) on PostgreSQL, NATS JetStream (or the embedded
// etcd engine) and a coord store, a steady order load through the registry, and kill -9 of a
// random target — a shop instance (relays, consumers, the reconciler), nats-server, PostgreSQL or
// the store — followed by its restart, one fault at a time. In the second quarter of the faults
// payments answer late (past the order service's timeout: the charge happens anyway, so the
// compensation refunds it), in the third they are declined. When the faults stop, the load stops and the shop must
// settle within `settleMs`: every order final, stock conserved, money moved once, no event lost.
import pg from 'pg';
import { connect } from '../../../src/coord.ts';
import { etcdEngine } from '../../../src/events/engine-etcd.ts';
import { natsEngine } from '../../../src/events/engine-nats.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';
import { startOutboxCluster, type Target } from './outbox-cluster.ts';
export type { Target } from './outbox-cluster.ts';
import { openOrders, outboxExamples, outboxProblems, readOutboxCounts, type OutboxCounts } from './outbox-invariants.ts';
import { startOrderLoad } from './order-load.ts';

export interface OutboxChaosOptions {
  /** How long faults are injected (with the load running), ms; ignored with `schedule`. */
  faultsMs: number;
  /** Exactly these targets, in this order, instead of random ones for `faultsMs`. */
  schedule?: readonly Target[];
  /** Orders per second. */
  rate: number;
  seed: number;
  engine: 'nats' | 'etcd';
  /** The bound: after the faults stop, everything must hold within this long, ms. */
  settleMs: number;
  /** Down time of a killed target before its restart: a random value up to this, ms. Default 3000. */
  maxDownMs?: number;
  /** Pause between faults: a random value up to this, ms. Default 3000. */
  maxGapMs?: number;
  log: (line: string) => void;
}

export interface OutboxChaosResult {
  kills: Record<string, number>;
  /** Shop instances that exited on their own (not killed by the run), restarted by the run's supervisor. */
  crashes: Record<string, number>;
  /** Restarts that failed (each retried until it worked or the run ended). */
  restartFailures: number;
  issued: number;
  acknowledged: number;
  failures: Record<string, number>;
  /** From the end of the faults until every order was final, ms (NaN if never within the bound). */
  finalAfterMs: number;
  /** From the end of the faults until every invariant held, ms (NaN if never within the bound). */
  settledAfterMs: number;
  counts: OutboxCounts;
  problems: string[];
  /** The shop's logs, kept when a problem was found (removed otherwise). */
  logDir: string;
}

const TOPICS = ['orders', 'inventory', 'payments', 'notifications'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runOutboxChaos(o: OutboxChaosOptions): Promise<OutboxChaosResult> {
  // Faults and load draw from their own sequences, so a seed replays the same faults however the calls interleave.
  const random = seededRandom(o.seed);
  const cluster = await startOutboxCluster({ engine: o.engine, log: o.log });
  o.log(`store ${cluster.storeEndpoint}, database ${cluster.databaseUrl}${cluster.natsUrl ? `, NATS ${cluster.natsUrl}` : ''}; watch it: coord dashboard --endpoints ${cluster.storeEndpoint} (Events page), coord events stats --endpoints ${cluster.storeEndpoint}`);
  const coord = connect({ endpoints: cluster.storeEndpoint });
  const db = new pg.Pool({ connectionString: cluster.databaseUrl, max: 2 });
  db.on('error', (e) => o.log(`checker: database connection lost: ${e.message}`)); // a killed postgres: the next query reconnects
  const kills: Record<string, number> = {};
  let restartFailures = 0;
  let keepLogs = true;
  // A supervisor, as a process manager would be: a shop instance that exits on its own is counted
  // (a problem: it should survive what happened) and started again, so the invariants can still be checked.
  const crashes: Record<string, number> = {};
  const faulting = new Set<Target>();
  const supervising = new Set<Target>();
  const supervisor = setInterval(() => {
    for (const target of cluster.targets) {
      if (!cluster.isInstance(target) || faulting.has(target) || supervising.has(target) || cluster.alive(target)) continue;
      crashes[target] = (crashes[target] ?? 0) + 1;
      supervising.add(target);
      o.log(`${target} exited on its own; restarting it`);
      void restartUntilUp(target)
        .catch((e: Error) => o.log(`${target} stays down: ${e.message}`)) // the invariants then fail, naming what it left undone
        .finally(() => supervising.delete(target));
    }
  }, 500);
  const restartUntilUp = async (target: Target) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await cluster.restart(target);
        return;
      } catch (e) {
        restartFailures++;
        o.log(`restart of ${target} failed (attempt ${attempt}): ${(e as Error).message.split('\n')[0]}`);
        if (attempt >= 5) throw new Error(`${target} would not restart`);
        await sleep(1000 * attempt);
      }
    }
  };
  try {
    const load = startOrderLoad(coord, o.rate, seededRandom(o.seed + 1));
    type PaymentMode = 'normal' | 'late' | 'declined';
    const setPayments = async (mode: PaymentMode) => {
      for (let i = 0; ; i++) {
        try {
          await coord.config.publish('shop', 'faults', { payment: { decline: mode === 'declined', delayMs: mode === 'late' ? 3000 : 0 } }, { format: 'json' });
          o.log(`payments ${mode} from now on`);
          return;
        } catch (e) {
          if (i >= 20) throw e;
          await sleep(500); // the store may be down right now
        }
      }
    };
    const started = performance.now();
    let payments: PaymentMode = 'normal';
    const schedule = o.schedule ? [...o.schedule] : undefined;
    for (let n = 0; schedule ? n < schedule.length : performance.now() - started < o.faultsMs; n++) {
      const elapsed = schedule ? n / schedule.length : (performance.now() - started) / o.faultsMs;
      const wanted: PaymentMode = elapsed >= 0.25 && elapsed < 0.5 ? 'late' : elapsed >= 0.5 && elapsed < 0.75 ? 'declined' : 'normal';
      if (wanted !== payments) await setPayments((payments = wanted));
      const target = schedule?.[n] ?? cluster.targets[Math.floor(random() * cluster.targets.length)];
      while (supervising.has(target)) await sleep(100);
      faulting.add(target);
      const pid = cluster.pid(target);
      await cluster.kill(target);
      kills[target] = (kills[target] ?? 0) + 1;
      const down = Math.floor(random() * (o.maxDownMs ?? 3000));
      o.log(`kill -9 ${target} (pid ${pid}); restart in ${down} ms (${load.acknowledged.size} orders acknowledged so far)`);
      await sleep(down);
      try {
        await restartUntilUp(target);
      } finally {
        faulting.delete(target);
      }
      await sleep(Math.floor(random() * (o.maxGapMs ?? 3000)));
    }
    if (payments !== 'normal') await setPayments('normal');
    const faultsEnded = performance.now();
    await load.stop();
    o.log(`faults stopped; load stopped: ${load.issued} issued, ${load.acknowledged.size} acknowledged; waiting up to ${o.settleMs / 1000} s`);

    const engine = o.engine === 'nats' ? await natsEngine({ servers: cluster.natsUrl! }) : etcdEngine(coord);
    const deadLetters = async () => {
      const out: Record<string, number> = {};
      for (const t of TOPICS) out[t] = (await engine.stats(t)).groups.reduce((n, g) => n + g.deadLetters, 0);
      return out;
    };
    let finalAfterMs = NaN;
    let settledAfterMs = NaN;
    let counts: OutboxCounts;
    for (;;) {
      counts = await readOutboxCounts(db, load.acknowledged, await deadLetters());
      const now = performance.now() - faultsEnded;
      if (Number.isNaN(finalAfterMs) && openOrders(counts) === 0) finalAfterMs = now;
      if (outboxProblems(counts).length === 0) {
        settledAfterMs = now;
        break;
      }
      if (now > o.settleMs) break;
      await sleep(1000);
    }
    await engine.close();
    const problems = outboxProblems(counts);
    for (const [target, n] of Object.entries(crashes)) problems.push(`${target} exited on its own ${n} times (restarted by the run)`);
    keepLogs = problems.length > 0;
    if (keepLogs) for (const line of await outboxExamples(db, counts)) o.log(line);
    return {
      kills,
      crashes,
      restartFailures,
      issued: load.issued,
      acknowledged: load.acknowledged.size,
      failures: Object.fromEntries(load.failures),
      finalAfterMs,
      settledAfterMs,
      counts,
      problems,
      logDir: cluster.logDir,
    };
  } finally {
    clearInterval(supervisor);
    while (supervising.size > 0) await sleep(100);
    await db.end();
    await coord.close();
    await cluster.close(keepLogs);
  }
}
