// What the events suites (CLI, admin API, dashboard, relay reports) share: waiting for a state,
// and the scene they read back — two consumer groups with lag and a dead letter, and an outbox
// relay waiting behind another instance so its report shows a backlog.
import type { Coord } from '../../src/coord.ts';
import { EtcdOutbox, readRelayReports, startRelay, type EventEngine, type EventRecord, type Relay, type RelayReportRow } from '../../src/events/index.ts';

/** Polls `check` every 20 ms until it returns something truthy (returned), or fails after `timeoutMs`. */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An `orders` event `o-<i>`. */
export const orderEvent = (i: number, time = new Date().toISOString()): EventRecord => ({ id: `o-${i}`, topic: 'orders', type: 'OrderCreated', key: `o-${i}`, data: { n: i }, time });

/**
 * `orders` o-1…o-3 through groups `mail` and `pay` (pay gives up on o-2: one dead letter), both
 * closed, then o-4 published: each group has 1 pending.
 */
export async function groupsWithLag(engine: EventEngine, order: (i: number) => EventRecord, timeoutMs?: number): Promise<Record<'mail' | 'pay', string[]>> {
  await engine.publish([1, 2, 3].map(order));
  const seen: Record<'mail' | 'pay', string[]> = { mail: [], pay: [] };
  const mail = engine.subscribe('orders', 'mail', async (d) => void seen.mail.push(d.id));
  const pay = engine.subscribe('orders', 'pay', async (d) => {
    if (d.id === 'o-2') throw new Error('card declined');
    seen.pay.push(d.id);
  }, { maxAttempts: 1 });
  await until('both groups past o-3', async () => seen.mail.length === 3 && seen.pay.includes('o-3') && (await engine.deadLetters('orders', 'pay')).length === 1, timeoutMs);
  await Promise.all([mail.close(), pay.close()]);
  await engine.publish([order(4)]);
  await until('pending 1 for both groups', async () => (await engine.stats('orders')).groups.every((g) => g.pending === 1), timeoutMs);
  return seen;
}

/**
 * The EtcdOutbox `shop` holding an unsent event per key, and its relay instance `shop-a` waiting
 * behind another (so it reports the backlog instead of relaying). Resolves with the relay and its
 * one report.
 */
export async function waitingRelay(lib: Coord, engine: EventEngine, keys: string[], closers: Array<() => unknown>, timeoutMs?: number): Promise<{ relay: Relay; reports: RelayReportRow[] }> {
  const outbox = new EtcdOutbox(lib, 'shop');
  const blocker = await lib.campaign('outbox-relay/shop', 'elsewhere');
  closers.push(() => blocker.resign());
  await lib.etcd.txn({ success: keys.map((key) => outbox.op({ topic: 'orders', type: 'OrderCreated', key, data: {} })) });
  const relay = startRelay({ coord: lib, outbox, engine, name: 'shop', instance: 'shop-a', statsIntervalMs: 600_000, registry: false });
  closers.push(() => relay.close());
  const reports = await until(
    'the relay report',
    async () => {
      const rows = await readRelayReports(lib);
      return rows.length === 1 && rows;
    },
    timeoutMs,
  );
  return { relay, reports };
}
