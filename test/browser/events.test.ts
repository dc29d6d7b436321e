// The dashboard's Events page in Debian's Chromium (driven by playwright-core) against a real
// coord store with the embedded events engine: streams with their event counts, consumer lag per
// group and the outbox backlog as engine.stats() and the relays report them; a consumer that keeps
// failing leaves a dead letter on the page, Re-drive delivers it again (the consumer now succeeds)
// and it disappears; the recent events of a topic (the notification feed); read-only hides
// Re-drive; with etcd gone the page keeps the last figures, marked. Screenshots go to test-results/.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startAdmin, type AdminOptions } from '../../src/admin/index.ts';
import { connect, type Coord } from '../../src/coord.ts';
import { announceEngine } from '../../src/events/announce.ts';
import { etcdEngine } from '../../src/events/engine-etcd.ts';
import type { EventEngine, EventRecord } from '../../src/events/event.ts';
import { EtcdOutbox } from '../../src/events/outbox.ts';
import { startRelay } from '../../src/events/outbox-relay.ts';
import { readRelayReports } from '../../src/events/relay-reports.ts';
import { startStore } from '../../src/store/index.ts';
import { launchChromium, requireChromium, SHOTS } from './browser-fixture.ts';
import { until as untilWithin } from '../helpers/events-scenario.ts';

const T = 30_000;
const until = <X>(what: string, check: () => X | undefined | false | Promise<X | undefined | false>, timeoutMs = T) => untilWithin(what, check, timeoutMs);
const order = (i: number): EventRecord => ({ id: `o-${i}`, topic: 'orders', type: 'OrderCreated', key: `o-${i}`, data: { n: i }, time: new Date().toISOString() });
const note = (i: number): EventRecord => ({ id: `n-${i}`, topic: 'notifications', type: 'NotificationSent', key: `o-${i}`, data: { to: `user-${i}` }, time: new Date().toISOString() });


describe('Events page in Chromium', { skip: requireChromium() }, () => {
  /** A coord store, a library client with the announced etcd engine, and a browser. */
  async function setup(t: TestContext): Promise<{ store: Awaited<ReturnType<typeof startStore>>; lib: Coord; engine: EventEngine; browser: Browser; open(o?: AdminOptions): Promise<Page> }> {
    const store = await startStore({ listen: '127.0.0.1:0' });
    const lib = connect({ endpoints: store.endpoint, namespace: '/ui-events/' });
    const engine = etcdEngine(lib);
    await announceEngine(lib, engine);
    const browser = await launchChromium();
    const closers: Array<() => Promise<unknown>> = [];
    t.after(async () => {
      for (const c of closers.reverse()) await c();
      await browser.close();
      await engine.close();
      await lib.close();
      await store.close();
    });
    const open = async (o: AdminOptions = {}) => {
      const admin = await startAdmin({ endpoints: store.endpoint, namespace: '/ui-events/', instanceMetrics: false, requestTimeoutMs: 1000, ...o });
      closers.push(() => admin.close());
      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      closers.push(() => context.close());
      const page = await context.newPage();
      page.setDefaultTimeout(T);
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      closers.push(async () => assert.deepEqual(problems, [], 'uncaught errors in the page'));
      await page.goto(`${admin.url}events`);
      return page;
    };
    return { store, lib, engine, browser, open };
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}events-${name}.png`, fullPage: true });
  const text = async (page: Page, row: string, cell: string) => (await page.getByTestId(row).getByTestId(cell).textContent())?.trim();

  it('shows streams, lag per group and outbox backlog as the engine reports them; Re-drive delivers a dead letter and it disappears', async (t) => {
    const { store, lib, engine, open } = await setup(t);
    await engine.publish([1, 2, 3].map(note));
    await engine.publish([1, 2, 3].map(order));
    let broken = true;
    const paid: string[] = [];
    const pay = engine.subscribe('orders', 'pay', async (d) => {
      if (broken && d.id === 'o-2') throw new Error('card declined');
      paid.push(d.id);
    }, { maxAttempts: 2, retryDelayMs: 20 });
    t.after(() => pay.close());
    const mail = engine.subscribe('orders', 'mail', async () => {});
    await until('pay past o-3, mail at o-3', async () => paid.includes('o-3') && (await engine.stats('orders')).groups.every((g) => g.pending === 0));
    await mail.close();
    await engine.publish([order(4)]);
    await until('o-4 paid', () => paid.includes('o-4'));

    const outbox = new EtcdOutbox(lib, 'shop');
    const blocker = await lib.campaign('outbox-relay/shop', 'elsewhere');
    t.after(() => blocker.resign());
    await lib.etcd.txn({ success: [1, 2].map((i) => outbox.op({ topic: 'orders', type: 'OrderCreated', key: `o-1${i}`, data: {} })) });
    const relay = startRelay({ coord: lib, outbox, engine, name: 'shop', instance: 'shop-a', statsIntervalMs: 600_000, registry: false });
    t.after(() => relay.close());
    const [report] = await until('the relay report', async () => {
      const rows = await readRelayReports(lib);
      return rows.length === 1 && rows;
    });

    const page = await open();
    await page.getByTestId('engine-name').getByText('etcd').waitFor();
    const row = page.getByTestId('dead-orders-pay-o-2');
    await row.getByTestId('dead-error').getByText('card declined').waitFor();
    const stats = await engine.stats('orders');
    const figure = (g: string) => stats.groups.find((x) => x.group === g)!;
    assert.deepEqual([figure('mail').pending, figure('pay').pending, figure('pay').deadLetters], [1, 0, 1]);
    assert.equal(await text(page, 'group-orders-mail', 'pending'), String(figure('mail').pending));
    assert.equal(await text(page, 'group-orders-pay', 'pending'), String(figure('pay').pending));
    assert.equal(await text(page, 'group-orders-pay', 'dead-count'), String(figure('pay').deadLetters));
    assert.equal(await text(page, 'group-orders-mail', 'events'), String(stats.events));
    assert.equal(await text(page, 'topic-notifications', 'events'), String((await engine.stats('notifications')).events));
    assert.ok(!('malformed' in report));
    assert.equal(await text(page, 'outbox-shop-shop-a', 'backlog'), String(report.backlog));
    assert.equal(report.backlog, 2);

    // The notification feed is the default topic of the recent events, newest first.
    await until('3 notifications listed', async () => (await page.getByTestId('recent-event').count()) === 3);
    assert.match((await page.getByTestId('recent-event').first().textContent()) ?? '', /NotificationSent.*o-3.*n-3.*"to":"user-3"/);
    await page.getByTestId('feed-topic-orders').click();
    await until('4 orders listed', async () => (await page.getByTestId('recent-event').count()) === 4);
    await shot(page, 'dead-letter');

    broken = false;
    await row.getByTestId('redrive').click();
    await row.waitFor({ state: 'detached' });
    await until('the re-driven event handled', () => paid.includes('o-2'));
    assert.deepEqual(await engine.deadLetters('orders'), []);
    await page.getByTestId('group-orders-pay').getByTestId('dead-count').getByText('0').waitFor();
    await page.getByTestId('dead-letters').getByText('No consumer group gave up on an event.').waitFor();
    await shot(page, 'redriven');

    // etcd goes: the page keeps the last figures, marked as such.
    await relay.close();
    await store.close();
    await page.getByTestId('outboxes-stale').waitFor();
    await page.getByTestId('topics-stale').waitFor();
    assert.equal(await text(page, 'group-orders-mail', 'pending'), '1');
    await shot(page, 'etcd-down');
  });

  it('read-only: dead letters are listed without Re-drive', async (t) => {
    const { engine, open } = await setup(t);
    const pay = engine.subscribe('orders', 'pay', async () => {
      throw new Error('card declined');
    }, { maxAttempts: 1 });
    t.after(() => pay.close());
    await engine.publish([order(1)]);
    await until('a dead letter', async () => (await engine.deadLetters('orders')).length === 1);
    const page = await open({ readOnly: true });
    await page.getByTestId('dead-orders-pay-o-1').getByText('card declined').waitFor();
    assert.equal(await page.getByTestId('redrive').count(), 0);
  });
});
