// The transactional outbox under fire: `npm run chaos -- outbox [--seconds 120] [--rate 10]
// [--seed N] [--engine nats|etcd] [--settle 90]`. The shop runs on PostgreSQL, nats-server -js (or
// the embedded etcd engine) and a coord store with a steady order load, while kill -9 hits a random
// shop instance (relays, consumers, the reconciler), nats-server, PostgreSQL or the store, which
// then restarts. When the faults stop, within the stated bound (--settle) every order must be paid
// or cancelled, stock conserved, every paid order charged once, every cancelled one refunded as
// often as charged, and no event lost. Prints the counts; exits 1 on any broken invariant.
import { parseArgs } from 'node:util';
import { runOutboxChaos } from './lib/outbox-scenario.ts';

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: 'string', default: '120' },
      rate: { type: 'string', default: '10' },
      seed: { type: 'string', default: String(Date.now() % 1e9) },
      engine: { type: 'string', default: 'nats' },
      settle: { type: 'string', default: '90' },
    },
  });
  if (values.engine !== 'nats' && values.engine !== 'etcd') throw new Error(`--engine: nats or etcd, not ${JSON.stringify(values.engine)}`);
  for (const k of ['seconds', 'rate', 'seed', 'settle'] as const) if (!(Number(values[k]) >= 0)) throw new Error(`--${k}: a number, not ${JSON.stringify(values[k])}`);
  const seed = Number(values.seed);
  const started = performance.now();
  console.log(`outbox chaos: ${values.seconds} s of faults, ${values.rate} orders/s, engine ${values.engine}, seed ${seed} (replay with --seed ${seed}), bound ${values.settle} s after the faults stop`);
  const r = await runOutboxChaos({
    faultsMs: Number(values.seconds) * 1000,
    rate: Number(values.rate),
    seed,
    engine: values.engine,
    settleMs: Number(values.settle) * 1000,
    log: (line) => console.log(`  ${line}`),
  });
  const c = r.counts;
  const secs = (ms: number) => (Number.isNaN(ms) ? `not within ${values.settle} s` : `${(ms / 1000).toFixed(1)} s`);
  const rows: Array<[string, string | number]> = [
    ['kills (kill -9, then restart)', Object.entries(r.kills).map(([t, n]) => `${t} ${n}`).join(', ')],
    ['instances that exited on their own (restarted)', JSON.stringify(r.crashes)],
    ['restarts that failed and were retried', r.restartFailures],
    ['orders issued / acknowledged', `${r.issued} / ${r.acknowledged}`],
    ['calls failed (outcome unknown)', JSON.stringify(r.failures)],
    ['orders in the database', c.orders],
    ['paid / cancelled / not final', `${c.paid} / ${c.cancelled} / ${JSON.stringify(c.open)}`],
    ['acknowledged orders missing', c.acknowledgedMissing],
    ['stock per sku (initial = available + reserved + sold)', c.stock.map((s) => `${s.sku} ${s.initial} = ${s.available}+${s.reserved}+${s.sold}`).join(', ')],
    ['charges / refunds', `${c.charges} / ${c.refunds}`],
    ['paid orders not charged exactly once', c.paidBadLedger],
    ['cancelled orders with charges ≠ refunds', c.cancelledBadLedger],
    ['events never relayed (outbox rows unsent)', JSON.stringify(c.unsent)],
    ['order events lost (notifications missing)', c.notificationsMissing],
    ['duplicate notifications', c.notificationsDuplicate],
    ['dead letters', JSON.stringify(c.deadLetters)],
    ['every order final after the faults stopped', secs(r.finalAfterMs)],
    ['every invariant held after', secs(r.settledAfterMs)],
    ['time', `${((performance.now() - started) / 1000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  for (const p of r.problems) console.log(`PROBLEM: ${p}`);
  if (r.problems.length > 0) console.log(`shop logs kept in ${r.logDir}`);
  return r.problems.length === 0 ? 0 : 1;
}
