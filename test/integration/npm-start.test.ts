// `npm start` as a newcomer runs it, in a clean copy of the repository (the files git would check
// out, then `npm ci --offline` from the npm cache, as after a clone; no dashboard build, no
// .coord/): wait for the banner, run the three curl commands it printed
// (with the real curl when installed), stop it with a Ctrl-C (SIGINT to its process group) and
// check that every demo instance deregistered and the exit code is 0. A second start on a taken
// port says which port in one line.
import assert from 'node:assert/strict';
import { PGlite } from '@electric-sql/pglite';
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { connect } from '../../src/index.ts';
import { startStore } from '../../src/store/index.ts';
import { ROOT, curlToFetch, killAllDev, startDev } from '../helpers/dev-process.ts';
import { waitFor } from './admin-fixture.ts';

const exec = promisify(execFile);

function hasCurl(): boolean {
  try {
    accessSync('/usr/bin/curl');
    return true;
  } catch {
    return false;
  }
}

/** Runs a printed curl command: the real curl via sh when installed, else fetch with the same method, headers and body. */
async function runCurl(line: string): Promise<unknown> {
  if (hasCurl()) {
    const { stdout } = await exec('sh', ['-c', line], { timeout: 60_000 });
    return JSON.parse(stdout);
  }
  const { url, init } = curlToFetch(line);
  return (await fetch(url, init)).json();
}

/**
 * The working tree as a clone would have it (tracked and new files, minus what .gitignore
 * excludes: node_modules, dashboard builds, .coord/), with dependencies installed by `npm ci`
 * from the local npm cache.
 */
function cleanCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'coord-clone-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    try {
      copyFileSync(join(ROOT, f), join(dir, f));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // deleted in the working tree
    }
  }
  const t0 = Date.now();
  try {
    execFileSync('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
    console.log(`clean copy with ${files.length} files; npm ci --offline took ${Date.now() - t0} ms`);
  } catch (e) {
    // No complete npm cache (CI has one: it just ran npm ci): use this checkout's dependencies.
    console.log(`npm ci --offline failed (${String((e as { stderr?: Buffer }).stderr ?? e).trim().split('\n')[0]}); linking this checkout's node_modules instead`);
    rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  }
  return dir;
}

describe('npm start', () => {
  let clone: string;
  before(() => {
    clone = cleanCopy();
  });
  after(() => {
    killAllDev();
    if (clone) rmSync(clone, { recursive: true, force: true });
  });

  it('prints working curl commands, refuses a second start on a taken port, and stops cleanly on Ctrl-C', async () => {
    const t0 = Date.now();
    const dev = startDev({ viaNpm: true, cwd: clone });
    const banner = await dev.banner();
    console.log(`npm start printed its banner after ${Date.now() - t0} ms (first start: dashboard build included)`);

    // The three commands, as printed.
    const [user, stock, order] = (await Promise.all(banner.curls.map(runCurl))) as Array<Record<string, any>>;
    assert.equal(user.name, 'Ada Lovelace', JSON.stringify(user));
    assert.match(user.servedBy, /^user-service-/);
    assert.equal(stock.sku, 'book', JSON.stringify(stock));
    assert.equal(typeof stock.available, 'number');
    // Accepted at once; inventory and payment follow through events.
    assert.equal(order.status, 'pending', JSON.stringify(order));
    assert.match(order.id, /^o-/);
    assert.deepEqual(order.items, [{ sku: 'book', quantity: 2 }]);

    // The dashboard was built on this first start and is served.
    const page = await fetch(banner.dashboardUrl);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script type="module"/);

    // The order is there, and creating one needs the printed token.
    const got = (await (await fetch(`${banner.gatewayUrl}/v1/orders/${order.id}`)).json()) as { id: string };
    assert.equal(got.id, order.id);
    // …and it is paid through the events: inventory reserves, payment charges (PGlite, embedded engine).
    await waitFor(async () => ((await (await fetch(`${banner.gatewayUrl}/v1/orders/${order.id}`)).json()) as { status: string }).status === 'paid', 60_000, `order ${order.id} to be paid`);
    const anonymous = await fetch(`${banner.gatewayUrl}/v1/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user_id":"u1","items":[{"sku":"book","quantity":1}]}' });
    assert.equal(anonymous.status, 401);

    // Every instance is registered now.
    const coord = connect({ endpoints: banner.storeEndpoint });
    try {
      const services = ['user-service', 'inventory-service', 'order-service', 'payment-service', 'notification-service'];
      const ids = (await Promise.all(services.map((s) => coord.instances(s)))).flat().map((i) => i.id).sort();
      assert.deepEqual(ids, ['inventory-service-1', 'inventory-service-2', 'notification-service-1', 'order-service-1', 'order-service-2', 'payment-service-1', 'payment-service-2', 'user-service-1']);
    } finally {
      await coord.close();
    }

    // A second start on the same store port: one line naming it, non-zero exit, nothing started.
    const port = banner.storeEndpoint.split(':').pop();
    const second = await exec(process.execPath, [join(clone, 'bin/coord.js'), 'dev', '--demo', '--listen', banner.storeEndpoint, '--dashboard-listen', '127.0.0.1:0', '--gateway-listen', '127.0.0.1:0'], {
      env: { ...process.env, COORD_DEV_DIR: join(dev.dir, 'second') },
      timeout: 60_000,
    }).then(
      () => assert.fail('the second coord dev started'),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.equal(second.code, 1);
    assert.equal(second.stdout, '');
    assert.equal(second.stderr.trim().split('\n').length, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`port ${port} \\(store, ${banner.storeEndpoint.replace(/\./g, '\\.')}\\) is already in use`));

    // Ctrl-C.
    const pids = dev.servicePids();
    assert.equal(pids.length, 8);
    const exit = await dev.interrupt('SIGINT');
    assert.deepEqual(exit, { code: 0, signal: null }, dev.stderr());
    assert.match(dev.stderr(), /coord dev: stopped/);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `service pid ${pid} still running`);

    // Deregistered: the registry in the store's data is empty. (A key left behind would still be
    // there: leases survive a restart.)
    const store = await startStore({ listen: '127.0.0.1:0', dataDir: join(dev.dir, 'data') });
    const reader = connect({ endpoints: store.endpoint });
    try {
      const left = await reader.etcd.range('/coord/services/', { prefix: true });
      assert.deepEqual(left.kvs.map((kv) => kv.key.toString()), []);
      // The shop's business data is not in etcd: the order is in the PGlite database beside it.
      assert.deepEqual((await reader.etcd.range('/coord/shop/', { prefix: true })).kvs.map((kv) => kv.key.toString()), []);
    } finally {
      await reader.close();
      await store.close();
    }
    const db = new PGlite(join(dev.dir, 'shop-db'));
    try {
      const orders = await db.query<{ id: string }>('SELECT id FROM orders.orders');
      assert.equal(orders.rows.length, 1, 'the order survived the restart');
    } finally {
      await db.close();
    }
  });
});
