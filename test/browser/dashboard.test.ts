// The dashboard in Debian's Chromium (driven by playwright-core) against a real coord store: every
// page opens and shows live state; a config change published through the editor reaches a
// library subscriber and is rolled back; a drain from the Services page reaches discovery; a
// revoked registration vanishes without a reload; services in Go registry layouts are listed marked
// with their format; with etcd down a new page shows the last known state; token login; read-only mode. Screenshots go to test-results/.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, requireChromium, SHOTS } from './browser-fixture.ts';
import { startAdmin, type AdminOptions } from '../../src/admin/index.ts';
import { connect, type ConfigValue, type Coord } from '../../src/index.ts';
import type { CoordinationView, Overview } from '../../src/admin/api-types.ts';
import { startStore } from '../../src/store/index.ts';
import { encodeGrpcGo } from '../../src/registry/registry-format-grpc-go.ts';
import { waitFor } from '../integration/admin-fixture.ts';

const T = 30_000;

describe('dashboard in Chromium', { skip: requireChromium() }, () => {
  let store: Awaited<ReturnType<typeof startStore>> | undefined;
  let browser: Browser | undefined;
  let n = 0;

  before(async () => {
    store = await startStore({ listen: '127.0.0.1:0' });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await store?.close();
  });

  /** A namespace, an admin server with the UI over it, a library client, and a fresh browser page. */
  async function setup(t: TestContext, options: AdminOptions = {}): Promise<{ url: string; lib: Coord; page: Page; ns: string }> {
    const ns = `/ui-t${++n}/`;
    const admin = await startAdmin({ endpoints: store!.endpoint, namespace: ns, ...options });
    const lib = connect({ endpoints: store!.endpoint, namespace: ns });
    const context = await browser!.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(T);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    // Confirmation dialogs (rollback, promote) are answered yes.
    page.on('dialog', (d) => void d.accept());
    t.after(async () => {
      await context.close();
      await lib.close();
      await admin.close();
      assert.deepEqual(problems, [], 'uncaught errors in the page');
    });
    return { url: admin.url, lib, page, ns };
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}dashboard-${name}.png`, fullPage: true });

  it('opens every page and shows what the library did', async (t) => {
    const { url, lib, page, ns } = await setup(t);
    const regs = await Promise.all([
      lib.register({ id: 'orders-1', name: 'orders', version: '1.4.0', endpoints: ['grpc://127.0.0.1:5001'], metadata: { zone: 'a', weight: 10 } }),
      lib.register({ id: 'orders-2', name: 'orders', version: '1.4.0', endpoints: ['grpc://127.0.0.1:5002'], metadata: { zone: 'b', weight: 5 } }),
      lib.register({ id: 'inventory-1', name: 'inventory', version: '2.0.1', endpoints: ['grpc://127.0.0.1:5003'], metadata: { zone: 'a' } }),
    ]);
    t.after(() => Promise.all(regs.map((r) => r.deregister())));
    await lib.config.publish('shop', 'limits.json', '{\n  "maxItems": 10\n}\n', { format: 'json', author: 'ana', message: 'initial' });
    const other = connect({ endpoints: store!.endpoint, namespace: ns });
    t.after(() => other.close());
    const lock = await lib.lock('inventory/sku-42');
    const waiting = other.lock('inventory/sku-42');
    const leader = await lib.campaign('order-expiry', 'orders-1');
    const candidate = other.campaign('order-expiry', 'orders-2');
    // `other` is closed by an earlier after hook while these still wait: they then reject with 'closed'.
    waiting.catch(() => {});
    candidate.catch(() => {});
    t.after(async () => {
      // The clients may be closed by now (after hooks run in order): a waiter whose client closed
      // rejects with 'closed' rather than winning a lock it cannot hold.
      await lock.release();
      await waiting.then((h) => h.release(), () => {});
      await leader.resign();
      await candidate.then((c) => c.resign(), () => {});
    });

    await page.goto(url);
    await page.getByTestId('count-instances').getByText('3', { exact: true }).waitFor();
    await page.getByTestId('member').getByText('leader').waitFor();
    await page.getByTestId('event').filter({ hasText: 'campaigns in order-expiry' }).waitFor();
    await shot(page, 'overview');

    await page.getByTestId('nav-services').click();
    await page.getByTestId('instance-orders-2').waitFor();
    assert.equal(await page.getByTestId('instance-orders-1').getByTestId('weight').textContent(), '10');
    // Nothing listens on the registered endpoints: the default probe says so, and has no figures.
    await page.getByTestId('instance-orders-1').getByText('not-serving').waitFor();
    assert.equal(await page.getByTestId('instance-orders-1').getByText('n/a').count(), 3, 'RPS, errors and p99 say n/a');
    await shot(page, 'services');

    await page.getByTestId('nav-config').click();
    await page.getByTestId('config-key-limits.json').getByRole('link').click();
    await page.getByTestId('current-version').getByText('v1').waitFor();
    await shot(page, 'config-editor');

    await page.getByTestId('nav-locks').click();
    const lockRow = page.getByTestId('lock-inventory/sku-42');
    assert.equal(await lockRow.getByTestId('fencing-token').textContent(), String(lock.fencingToken));
    await lockRow.getByTestId('queued').waitFor();
    await page.getByTestId('election-order-expiry').getByTestId('leader').getByText('orders-1').waitFor();
    await page.getByTestId('election-order-expiry').getByTestId('queued').getByText('(orders-2)').waitFor();
    await shot(page, 'locks-elections');

    await page.getByTestId('nav-kv').click();
    await page.getByTestId('kv-row').filter({ hasText: 'services/orders/orders-1' }).click();
    await page.getByTestId('kv-value-text').getByText('"weight": 10').waitFor();
    // Live: a key written now shows up without a reload.
    await lib.etcd.put(`${ns}notes/hello`, 'world');
    await page.getByTestId('kv-change').filter({ hasText: `${ns}notes/hello` }).waitFor();
    await page.getByTestId('kv-row').filter({ hasText: 'notes/hello' }).waitFor();
    await page.getByTestId('kv-view-hex').click();
    await page.getByTestId('kv-value-text').getByText('7b 22 69 64').waitFor();
    await shot(page, 'kv');
  });

  it('publishes through the editor to a subscriber, refuses invalid JSON, diffs and rolls back', async (t) => {
    const { url, lib, page } = await setup(t);
    await lib.config.publish('shop', 'limits.json', '{\n  "maxItems": 10\n}\n', { format: 'json', author: 'ana' });
    const received: Array<ConfigValue | undefined> = [];
    const sub = lib.config.subscribe('shop', 'limits.json', (v) => received.push(v));
    t.after(() => sub.close());
    await sub.ready;

    await page.goto(`${url}config/shop/limits.json`);
    await page.getByTestId('current-version').getByText('v1').waitFor();
    const editor = page.getByTestId('value');
    await editor.fill('{\n  "maxItems": ');
    await page.getByTestId('validity').getByText(/not valid JSON/).waitFor();
    assert.equal(await page.getByTestId('publish-button').isDisabled(), true, 'invalid JSON cannot be published');
    await shot(page, 'config-invalid');

    await editor.fill('{\n  "maxItems": 25\n}\n');
    await page.getByTestId('validity').getByText('valid JSON').waitFor();
    await page.getByTestId('message').fill('more items');
    await page.getByTestId('publish-button').click();
    await page.getByTestId('current-version').getByText('v2').waitFor();
    await waitFor(() => received.at(-1)?.version === 2, T, 'the subscriber to receive v2');
    assert.deepEqual(received.at(-1)!.value, { maxItems: 25 });
    assert.equal(received.at(-1)!.author, 'dashboard');
    assert.equal(received.at(-1)!.message, 'more items');

    await page.getByTestId('tab-history').click();
    await page.getByTestId('version-2').waitFor();
    const changed = page.getByTestId('diff-changed');
    await changed.first().waitFor();
    assert.match((await changed.first().textContent()) ?? '', /"maxItems": 10.*"maxItems": 25/);
    await shot(page, 'config-history-diff');

    await page.getByTestId('version-1').getByTestId('rollback').click();
    await page.getByTestId('current-version').getByText('v3').waitFor();
    await waitFor(() => received.at(-1)?.version === 3, T, 'the subscriber to receive the rollback');
    assert.deepEqual(received.at(-1)!.value, { maxItems: 10 });
    assert.equal(received.at(-1)!.message, 'rollback to v1');
    await page.getByTestId('version-3').waitFor();
    await shot(page, 'config-rolled-back');
  });

  it('gray release: publishes a beta to one instance, then promotes it', async (t) => {
    const { url, lib, page } = await setup(t);
    await lib.config.publish('shop', 'flags.json', '{"fast": false}', { format: 'json' });
    const canary = lib.config.watch('shop', 'flags.json', { identity: { id: 'orders-2' } });
    t.after(() => canary.close());
    await canary.ready;
    await page.goto(`${url}config/shop/flags.json`);
    await page.getByTestId('tab-beta').click();
    await page.getByTestId('beta-ids').fill('orders-2');
    await page.getByTestId('beta-editor').getByTestId('value').fill('{"fast": true}');
    await page.getByTestId('beta-editor').getByTestId('validity').getByText('valid JSON').waitFor();
    await page.getByTestId('publish-beta').click();
    await page.getByTestId('beta-selector').getByText('id orders-2').waitFor();
    await waitFor(() => (canary.current()?.value as { fast?: boolean } | undefined)?.fast === true, T, 'the canary to get the beta');
    assert.deepEqual((await lib.config.get('shop', 'flags.json'))!.value, { fast: false }, 'everyone else keeps the stable value');
    await shot(page, 'config-beta');
    await page.getByTestId('promote').click();
    await page.getByTestId('current-version').getByText('v2').waitFor();
    assert.deepEqual((await lib.config.get('shop', 'flags.json'))!.value, { fast: true });
    assert.equal(await lib.config.getBeta('shop', 'flags.json'), undefined);
  });

  it('drains an instance from the Services page; a revoked registration vanishes', async (t) => {
    const { url, lib, page } = await setup(t);
    const r1 = await lib.register({ id: 'inventory-1', name: 'inventory', endpoints: ['grpc://127.0.0.1:6001'], metadata: { weight: 10 } });
    const r2 = await lib.register({ id: 'inventory-2', name: 'inventory', endpoints: ['grpc://127.0.0.1:6002'], metadata: { weight: 10 } });
    t.after(() => Promise.all([r1.deregister(), r2.deregister()]));
    const discovery = lib.discover('inventory');
    t.after(() => discovery.close());
    await discovery.ready;

    await page.goto(`${url}services`);
    const row1 = page.getByTestId('instance-inventory-1');
    await row1.getByTestId('status').getByText('serving').waitFor();
    await row1.getByTestId('drain').click();
    await row1.getByTestId('status').getByText('draining').waitFor();
    await waitFor(() => discovery.snapshot().instances.find((i) => i.id === 'inventory-1')?.status === 'draining', T, 'discovery to see the drain');

    await row1.getByTestId('edit-weight').click();
    await row1.getByTestId('weight-input').fill('3');
    await row1.getByTestId('save-weight').click();
    await row1.getByTestId('weight').getByText('3', { exact: true }).waitFor();
    await waitFor(() => discovery.snapshot().instances.find((i) => i.id === 'inventory-1')?.metadata?.weight === 3, T, 'discovery to see weight 3');
    await shot(page, 'services-drained');

    await r2.deregister();
    await page.getByTestId('instance-inventory-2').waitFor({ state: 'detached' });
    assert.equal(await page.getByTestId('instance-inventory-1').count(), 1);
    await shot(page, 'services-instance-gone');
  });

  it('lists foreign-format services with their format marked, read-only', async (t) => {
    // Foreign keys live outside the namespace: removed by this hook, registered before setup's
    // (hooks run in order) so its client is still open.
    const target = 'svc/go-echo';
    const kratosKey = '/microservices/helloworld/a1b2';
    const raw = connect({ endpoints: store!.endpoint });
    t.after(async () => {
      await raw.etcd.delete(`${target}/`, { prefix: true });
      await raw.etcd.delete(kratosKey);
      await raw.close();
    });
    const { url, lib, page } = await setup(t, { foreignServices: [{ format: 'grpc-go', target }] });
    // What Go's endpoints.Manager writes (test/fixtures/registry-formats/grpc-go.json), and Kratos' bytes.
    await raw.etcd.put(`${target}/127.0.0.1:50051`, encodeGrpcGo('127.0.0.1:50051'));
    await raw.etcd.put(kratosKey, JSON.stringify({ id: 'a1b2', name: 'helloworld', version: 'v1.0.0', metadata: { zone: 'z1' }, endpoints: ['http://127.0.0.1:8000', 'grpc://127.0.0.1:9000'] }));
    const reg = await lib.register({ id: 'billing-1', name: 'billing', endpoints: ['grpc://127.0.0.1:6101'] }, { formats: ['grpc-go'] });
    t.after(() => reg.deregister());

    await page.goto(`${url}services`);
    const goCard = page.getByTestId(`service-grpc-go-${target}`);
    await goCard.getByTestId('format').getByText('grpc-go', { exact: true }).waitFor();
    assert.equal(await goCard.getByTestId('format').isVisible(), true);
    await goCard.getByTestId('instance-127.0.0.1:50051').waitFor();
    const kratosCard = page.getByTestId('service-kratos-helloworld');
    await kratosCard.getByTestId('format').getByText('kratos', { exact: true }).waitFor();
    assert.equal(await kratosCard.getByTestId('format').isVisible(), true);
    // coord's own service carries no format badge; the grpc-go record it publishes is listed
    // beside it, marked, with its publisher, and without coord's drain / weight actions.
    const own = page.getByTestId('service-billing');
    await own.getByTestId('instance-billing-1').waitFor();
    assert.equal(await own.getByTestId('format').count(), 0);
    const published = page.getByTestId('service-grpc-go-billing');
    await published.getByTestId('format').getByText('grpc-go', { exact: true }).waitFor();
    await published.getByTestId('published-by').getByText('by billing/billing-1').waitFor();
    for (const card of [goCard, kratosCard, published]) {
      assert.equal(await card.getByTestId('drain').count(), 0);
      assert.equal(await card.getByTestId('edit-weight').count(), 0);
    }
    assert.match((await goCard.getByTestId('format').getAttribute('title'))!, /naming\/endpoints.*under svc\/go-echo\/ \(read-only\)/);
    await shot(page, 'services-foreign');

    // Foreign records are not on the admin's watch: the page polls, so a removed one goes without a reload.
    await raw.etcd.delete(kratosKey);
    await kratosCard.waitFor({ state: 'detached' });
  });

  it('with etcd down, a freshly opened page shows the last known state, its age, and lock holders by instance', async (t) => {
    // Its own store, to stop: the others share one.
    const own = await startStore({ listen: '127.0.0.1:0' });
    let ownOpen = true;
    t.after(async () => {
      if (ownOpen) await own.close();
    });
    const ns = `/ui-t${++n}/`;
    const admin = await startAdmin({ endpoints: own.endpoint, namespace: ns, requestTimeoutMs: 1000 });
    t.after(() => admin.close());
    const lib = connect({ endpoints: own.endpoint, namespace: ns });
    t.after(() => lib.close());
    await lib.register({ id: 'orders-1', name: 'orders', version: '1.4.0', endpoints: ['grpc://127.0.0.1:5001'] });
    // A holder sharing its registration's lease (one session for both, as Go services hold one
    // concurrency.Session), so the lock page can name it by instance.
    const lease = (await lib.etcd.get(`${ns}services/orders/orders-1`))!.lease;
    await lib.etcd.put(`${ns}locks/inventory/sku-42/${BigInt(lease).toString(16)}`, '', { lease });
    const api = async <T,>(path: string): Promise<T> => (await (await fetch(`${admin.url}api/${path}`)).json()) as T;
    await waitFor(async () => (await api<CoordinationView>('coordination')).locks[0]?.holder?.instance === 'orders/orders-1', T, 'the admin server to see the lock');
    await waitFor(async () => (await api<Overview>('overview')).counts.instances === 1, T, 'the admin server to see the instance');

    await own.close();
    ownOpen = false;
    await waitFor(async () => (await api<Overview>('overview')).watch.connected === false, T, 'the admin server to notice etcd is gone');

    const context = await browser!.newContext({ viewport: { width: 1400, height: 700 } });
    t.after(() => context.close());
    const page = await context.newPage();
    page.setDefaultTimeout(T);
    await page.goto(admin.url);
    await page.getByTestId('etcd-down').getByTestId('last-known').waitFor();
    assert.match((await page.getByTestId('etcd-down').textContent()) ?? '', /^etcd is unreachable: the pages show the last known state, revision \d+, as of .+ \((\d+s|\d+m \d+s) old\)\.$/);
    await page.getByTestId('count-instances').getByText('1', { exact: true }).waitFor();
    await page.getByTestId('cluster-as-of').waitFor();
    await shot(page, 'etcd-down-overview');
    await page.getByTestId('nav-services').click();
    await page.getByTestId('instance-orders-1').waitFor();
    await page.getByTestId('nav-locks').click();
    await page.getByTestId('lock-inventory/sku-42').getByTestId('holder-instance').getByText('orders/orders-1').waitFor();
    await shot(page, 'etcd-down-locks');
  });

  it('asks for the token when the server requires one', async (t) => {
    const { url, page } = await setup(t, { listen: '127.0.0.2:0', token: 'open-sesame', dashboard: true });
    await page.goto(url);
    await page.getByTestId('login').waitFor();
    await shot(page, 'login');
    await page.getByTestId('token').fill('wrong');
    await page.getByTestId('sign-in').click();
    await page.getByTestId('login').getByText('Wrong token.').waitFor();
    await page.getByTestId('token').fill('open-sesame');
    await page.getByTestId('sign-in').click();
    await page.getByTestId('page-overview').waitFor();
    await page.getByTestId('stat-revision').waitFor();
    // Signed in for the tab: a reload stays in.
    await page.reload();
    await page.getByTestId('page-overview').waitFor();
  });

  it('read-only mode shows the state and hides every action', async (t) => {
    const { url, lib, page } = await setup(t, { readOnly: true });
    const reg = await lib.register({ id: 'user-1', name: 'user', endpoints: ['grpc://127.0.0.1:7001'] });
    t.after(() => reg.deregister());
    await lib.config.publish('shop', 'k', 'hello', { format: 'text' });
    await page.goto(`${url}services`);
    await page.getByTestId('instance-user-1').waitFor();
    await page.getByTestId('read-only').waitFor();
    assert.equal(await page.getByTestId('drain').count(), 0);
    assert.equal(await page.getByTestId('edit-weight').count(), 0);
    await page.goto(`${url}config/shop/k`);
    await page.getByTestId('value-view').getByText('hello').waitFor();
    assert.equal(await page.getByTestId('publish-button').count(), 0);
    await page.getByTestId('tab-history').click();
    await page.getByTestId('version-1').waitFor();
    assert.equal(await page.getByTestId('rollback').count(), 0);
    await page.goto(`${url}config`);
    await page.getByTestId('config-key-k').waitFor();
    assert.equal(await page.getByTestId('new-config').count(), 0);
    await shot(page, 'read-only');
  });
});
