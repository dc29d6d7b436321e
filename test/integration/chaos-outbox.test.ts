// The short CI version of `npm run chaos -- outbox`: the shop on PostgreSQL, nats-server -js and a
// coord store process under a steady order load, with kill -9 and restart of one target of each
// kind in turn (the order service's relay and reconciler, nats-server, an inventory instance,
// PostgreSQL, a payment instance, the store, the notification service). When the faults stop,
// every invariant must hold within the bound: every order paid or cancelled, stock conserved,
// money moved once, no event lost. (The checker's own teeth: test/chaos/lib/outbox-invariants.test.ts.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runOutboxChaos, type Target } from '../chaos/lib/outbox-scenario.ts';
import { requireNats } from '../helpers/nats-process.ts';
import { requirePostgres } from '../helpers/postgres-process.ts';

const SCHEDULE: Target[] = ['order-service-1', 'nats-server', 'inventory-service-2', 'postgres', 'payment-service-1', 'store', 'notification-service-1'];
const SETTLE_S = 90;

describe('outbox chaos (short)', { skip: requirePostgres() ?? requireNats() }, () => {
  it(`every order final and every invariant held within ${SETTLE_S} s after one kill -9 of each kind`, { timeout: 900_000 }, async (t) => {
    const r = await runOutboxChaos({ faultsMs: 0, schedule: SCHEDULE, rate: 4, seed: 20261206, engine: 'nats', settleMs: SETTLE_S * 1000, maxDownMs: 1500, maxGapMs: 1500, log: (l) => t.diagnostic(l) });
    const c = r.counts;
    t.diagnostic(
      `figure: kills ${JSON.stringify(r.kills)}, exited on their own ${JSON.stringify(r.crashes)}, orders ${r.issued} issued / ${r.acknowledged} acknowledged / ${c.orders} in the database, paid ${c.paid}, cancelled ${c.cancelled}, ` +
        `charges ${c.charges}, refunds ${c.refunds}, final after ${(r.finalAfterMs / 1000).toFixed(1)} s, settled after ${(r.settledAfterMs / 1000).toFixed(1)} s`,
    );
    assert.deepEqual(r.problems, [], `shop logs in ${r.logDir}`);
    assert.deepEqual(Object.keys(r.kills).sort(), [...SCHEDULE].sort());
    assert.ok(r.acknowledged > 0 && c.paid > 0 && c.cancelled > 0, 'the load placed orders and both final states were reached');
  });
});
