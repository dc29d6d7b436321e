// The demo as a user drives it, in Debian's Chromium (playwright-core) against a real
// `coord dev --demo` process tree: every dashboard page shows the running shop; a limit published
// from the config editor is enforced by the next order and rolled back from the dashboard; an
// inventory instance killed with `coord demo kill` vanishes from the Services page while a
// `coord demo load` run sees no failed order (CreateOrder answers before inventory is involved). Screenshots go to test-results/ (and, with
// COORD_UPDATE_DOCS=1, the Services page under load to docs/dashboard.png for the README).
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, requireChromium, SHOTS } from './browser-fixture.ts';
import { waitFor } from '../integration/admin-fixture.ts';
import { runCli, startCli, killAllCli } from '../helpers/cli-process.ts';
import { killAllDev, startDev, type Banner, type DevProcess } from '../helpers/dev-process.ts';

const DOCS_SHOT = new URL('../../docs/dashboard.png', import.meta.url).pathname;
const T = 30_000;

describe('the demo in Chromium', { skip: requireChromium() }, () => {
  let dev: DevProcess;
  let banner: Banner;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    dev = startDev();
    banner = await dev.banner();
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(T);
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('dialog', (d) => void d.accept());
  });
  after(async () => {
    await browser?.close();
    await killAllCli();
    if (dev) {
      const exit = await dev.interrupt('SIGINT');
      assert.deepEqual(exit, { code: 0, signal: null }, dev.stderr());
    }
    killAllDev();
    assert.deepEqual(problems, [], 'uncaught errors in the page');
  });

  const shot = (name: string) => page.screenshot({ path: `${SHOTS}demo-${name}.png`, fullPage: true });

  /** POST /v1/orders through the gateway with the demo token. */
  async function order(quantity: number): Promise<{ status: number; body: any }> {
    const res = await fetch(`${banner.gatewayUrl}/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${banner.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'u2', items: [{ sku: 'mug', quantity }] }),
    });
    return { status: res.status, body: await res.json() };
  }

  /** Polls until `n` orders in a row (spread over both order-service instances) get the answer `ok` wants. */
  async function untilOrdersIn(n: number, quantity: number, ok: (r: { status: number; body: any }) => boolean, what: string): Promise<void> {
    let streak = 0;
    await waitFor(async () => {
      streak = ok(await order(quantity)) ? streak + 1 : 0;
      return streak >= n;
    }, T, what);
  }

  it('opens every dashboard page and shows the running shop', async () => {
    await page.goto(banner.dashboardUrl);
    await page.getByTestId('count-instances').getByText('8', { exact: true }).waitFor();
    await shot('overview');

    await page.getByTestId('nav-services').click();
    for (const id of ['user-service-1', 'inventory-service-1', 'inventory-service-2', 'order-service-1', 'order-service-2', 'payment-service-1', 'payment-service-2', 'notification-service-1']) {
      await page.getByTestId(`instance-${id}`).getByTestId('status').getByText('serving').waitFor();
    }
    await shot('services');

    await page.getByTestId('nav-config').click();
    await page.getByTestId('config-key-order-limits').waitFor();
    await shot('config');

    await page.getByTestId('nav-locks').click();
    await page.getByTestId('election-shop-order-reconciler').getByTestId('leader').getByText(/order-service-[12]/).waitFor();
    await shot('locks-elections');

    await page.getByTestId('nav-kv').click();
    // Business data is in PostgreSQL; etcd holds coordination, e.g. the registry.
    await page.getByTestId('kv-row').filter({ hasText: 'services/order-service/order-service-1' }).click();
    await page.getByTestId('kv-value-text').waitFor();
    await shot('kv');
  });

  it('enforces a limit published from the config editor on the next order, and rolls it back', async () => {
    const before = await order(3);
    assert.equal(before.status, 200, JSON.stringify(before.body));

    await page.goto(`${banner.dashboardUrl}config/shop/order-limits`);
    await page.getByTestId('current-version').getByText('v1').waitFor();
    await page.getByTestId('value').fill('{\n  "maxItemsPerOrder": 2,\n  "orderSeconds": 15,\n  "paymentTimeoutMs": 2000,\n  "reconcileAttempts": 3,\n  "retrySeconds": 2\n}\n');
    await page.getByTestId('validity').getByText('valid JSON').waitFor();
    await page.getByTestId('message').fill('small orders only');
    await page.getByTestId('publish-button').click();
    await page.getByTestId('current-version').getByText('v2').waitFor();
    await shot('config-published');

    // Both order-service instances reload it: four refusals in a row.
    await untilOrdersIn(4, 3, (r) => r.status === 400 && /at most 2 items per order/.test(r.body.message), 'orders of 3 items to be refused');
    assert.equal((await order(2)).status, 200, 'an order within the new limit goes through');

    await page.getByTestId('tab-history').click();
    await page.getByTestId('version-1').getByTestId('rollback').click();
    await page.getByTestId('current-version').getByText('v3').waitFor();
    await shot('config-rolled-back');
    await untilOrdersIn(4, 3, (r) => r.status === 200, 'orders of 3 items to go through again');
  });

  it('kill -9 of an inventory instance: it leaves the Services page while demo load sees no failed order', async () => {
    await page.goto(`${banner.dashboardUrl}services`);
    await page.getByTestId('instance-inventory-service-2').waitFor();
    const load = startCli(['demo', 'load', '--rps', '5', '--duration', '25', '--dir', dev.dir]);
    await load.printed((out) => /^\s+2s\s+ok\s+[1-9]/m.test(out), T);
    // Live figures scraped from each instance's metrics endpoint: a p99 in ms once traffic flows.
    // (inventory gets no gRPC traffic from orders any more: it consumes events; payment-service does, through Pay)
    for (const id of ['order-service-1', 'order-service-2', 'payment-service-1', 'payment-service-2']) {
      await page.getByTestId(`instance-${id}`).getByText(/^\d+(\.\d+)? ms$/).waitFor();
    }
    await shot('services-under-load');
    if (process.env.COORD_UPDATE_DOCS === '1') copyFileSync(`${SHOTS}demo-services-under-load.png`, DOCS_SHOT);

    const kill = await runCli(['demo', 'kill', 'inventory-service', '--dir', dev.dir]);
    assert.equal(kill.code, 0, kill.stderr);
    assert.match(kill.stdout, /^killed inventory-service-2 \(pid \d+\) with SIGKILL/);
    await page.getByTestId('instance-inventory-service-2').waitFor({ state: 'detached' });
    await page.getByTestId('instance-inventory-service-1').getByTestId('status').getByText('serving').waitFor();
    await shot('services-after-kill');

    const result = await load.exit(120_000);
    const total = /^total\s+ok (\d+)\s+failed (\d+)/m.exec(result.stdout);
    assert.ok(total, result.stdout);
    assert.equal(Number(total[2]), 0, `failed orders:\n${result.stdout}`);
    assert.ok(Number(total[1]) >= 100, result.stdout);
    assert.equal(result.code, 0);
  });
});
