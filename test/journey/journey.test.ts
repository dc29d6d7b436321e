// A service's whole life as a user lives it (issue 21): the packed tarball installed in a fresh
// project, programs run by plain node, etcd and coord store started, killed and replaced for real.
// Each journey runs on real etcd and on coord store with the same assertions. JOURNEY_TARBALL
// runs the suite against a tarball packed elsewhere (e.g. of an older commit, to see it fail).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EtcdClient } from '../../src/client/etcd-client.ts';
import { requireEtcd } from '../helpers/etcd-process.ts';
import { installTarball, pack } from '../helpers/package-install.ts';
import { freePort, journeyBackend, type JourneyBackend } from './journey-backend.ts';
import { killAll, start } from './journey-process.ts';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
let work: string;
let app: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'coord-journey-'));
  app = join(work, 'app');
  mkdirSync(app);
  const tarball = process.env.JOURNEY_TARBALL ?? (await pack(work)).tarball;
  await installTarball(app, tarball);
  for (const f of readdirSync(FIXTURES)) copyFileSync(join(FIXTURES, f), join(app, f));
});

after(async () => {
  await killAll();
  if (work) rmSync(work, { recursive: true, force: true });
});

const program = (file: string, env: Record<string, string>) => start(process.execPath, [file], app, env);
const cli = (args: string[]) => start(process.execPath, [join(app, 'node_modules/etcd-coord/bin/coord.js'), ...args], app);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Every key under /coord/ and every live lease, read by a client of the test's own. */
async function etcdState(endpoint: string): Promise<{ keys: string[]; leases: string[] }> {
  const c = new EtcdClient({ endpoints: endpoint });
  try {
    const r = await c.range('/coord/', { prefix: true, keysOnly: true });
    return { keys: r.kvs.map((kv) => kv.key), leases: await c.leaseLeases() };
  } finally {
    c.close();
  }
}

/** `<prefix>/<lease-hex>` → the lease id in decimal, as LeaseLeases lists it. */
const leaseOf = (key: string) => BigInt(`0x${key.slice(key.lastIndexOf('/') + 1)}`).toString();

for (const name of ['etcd', 'coord store'] as const) {
  describe(`journeys on ${name}`, { skip: name === 'etcd' ? requireEtcd() : undefined }, () => {
    let backend: JourneyBackend;
    const env = () => ({ ENDPOINTS: backend.endpoint });
    before(async () => {
      backend = await journeyBackend(name, app);
    });
    after(async () => {
      await killAll();
      await backend?.kill();
    });

    test('a program whose only work is watching outlives an outage and a new cluster behind the address, and re-reads it (items 1, 2)', async () => {
      await backend.startFresh();
      const a = program('register.mjs', { ...env(), ID: 'a' });
      await a.line(/^registered$/);
      const watcher = program('discover.mjs', env());
      await watcher.line(/"stale":false,"ids":\["a"\]/);
      a.signal('SIGKILL');
      await backend.kill();
      const stale = await watcher.line(/"stale":true/);
      // A new cluster (fresh data dir, fresh --memory store): revisions start again from 1.
      await backend.startFresh();
      const b = program('register.mjs', { ...env(), ID: 'b' });
      await b.line(/^registered$/);
      await watcher.line(/"stale":false,"ids":\["b"\]/, { from: stale.index + 1 });
      assert.equal(watcher.child.exitCode, null, 'still watching');
      watcher.signal('SIGKILL');
      b.signal('SIGKILL');
    });

    test('coord services --watch and coord config watch keep watching through an outage, mark the output stale and resume (item 1)', async () => {
      await backend.startFresh();
      const conn = ['--endpoints', backend.endpoint];
      const published = cli(['config', 'publish', 'shop/limit', '1', ...conn]);
      await published.line(/^published shop\/limit version 1/);
      const a = program('register.mjs', { ...env(), ID: 'a' });
      await a.line(/^registered$/);
      const services = cli(['services', 'greeter', '--watch', ...conn]);
      const config = cli(['config', 'watch', 'shop/limit', ...conn]);
      await services.line(/^greeter\s+a\s/);
      await config.line(/^1$/);
      a.signal('SIGKILL');
      await backend.kill();
      const servicesStale = await services.line(/stale: etcd unreachable/);
      const configStale = await config.line(/stale: etcd unreachable/);
      await backend.startFresh();
      const b = program('register.mjs', { ...env(), ID: 'b' });
      await b.line(/^registered$/);
      await cli(['config', 'publish', 'shop/limit', '2', ...conn]).line(/^published shop\/limit/);
      await services.line(/^greeter\s+b\s/, { from: servicesStale.index + 1 });
      await config.line(/^2$/, { from: configStale.index + 1 });
      assert.equal(services.child.exitCode, null);
      assert.equal(config.child.exitCode, null);
      for (const p of [services, config, b]) p.signal('SIGKILL');
    });

    test('lock() and campaign() wait while etcd is unreachable and succeed once it is back (item 5)', async () => {
      await backend.kill();
      const waiter = program('wait-for-etcd.mjs', env());
      await waiter.line(/^LOG .*cannot reach etcd at 127\.0\.0\.1:\d+ \(connection refused\)/);
      await backend.startFresh();
      await waiter.line(/^held \d+$/);
      await waiter.line(/^elected \d+$/);
      assert.deepEqual(await waiter.exited, { code: 0, signal: null });
    });

    test('SIGTERM to the instance holding a lock and leadership: the other takes over at once, nothing of the stopped one is left in etcd (items 3, 4)', async () => {
      await backend.startFresh();
      const a = program('app-instance.mjs', { ...env(), ID: 'a' });
      await a.line(/^started$/);
      const aLeader = (await a.line(/^leader /)).line.slice('leader '.length);
      const aLock = (await a.line(/^lock /)).line.slice('lock '.length);
      const b = program('app-instance.mjs', { ...env(), ID: 'b' });
      await b.line(/^started$/);
      assert.ok((await etcdState(backend.endpoint)).keys.includes('/coord/services/greeter/b'), 'b is registered before a stops');
      const sent = performance.now();
      a.signal('SIGTERM');
      const [leader, lock] = await Promise.all([b.line(/^leader /), b.line(/^lock /)]);
      const exit = await a.exited;
      console.log(`# ${name}: after SIGTERM to the holder, leadership moved in ${(leader.at - sent).toFixed(0)} ms and the lock in ${(lock.at - sent).toFixed(0)} ms (lease TTL 10 s)`);
      assert.deepEqual(exit, { code: 0, signal: null }, a.output());
      assert.ok(a.lines.includes('afterStop'), 'hooks ran');
      const state = await etcdState(backend.endpoint);
      const gone = [aLeader, aLock].map(leaseOf);
      assert.deepEqual(state.keys.filter((k) => k === '/coord/services/greeter/a' || gone.some((l) => k.endsWith(`/${BigInt(l).toString(16)}`))), [], 'no key of a is left');
      assert.deepEqual(state.leases.filter((l) => gone.includes(l)), [], 'no lease of a is left');
      b.signal('SIGTERM');
      assert.deepEqual(await b.exited, { code: 0, signal: null }, b.output());
      const after = await etcdState(backend.endpoint);
      assert.deepEqual(after.keys, [], 'nothing is left once both stopped');
    });

    test('serve() on its own gives back the locks and leadership of its client when SIGTERM stops it (item 3)', async () => {
      await backend.startFresh();
      const s = program('serve-only.mjs', { ...env(), ID: 's' });
      const [, lockKey, leaderKey] = (await s.line(/^held /)).line.split(' ');
      s.signal('SIGTERM');
      assert.deepEqual(await s.exited, { code: 0, signal: null }, s.output());
      // Read right after the exit: with leases of 30 s, only a release can have removed them.
      const state = await etcdState(backend.endpoint);
      assert.deepEqual(state.keys.filter((k) => k === lockKey || k === leaderKey || k === '/coord/services/greeter/s'), []);
      assert.deepEqual(state.leases.filter((l) => l === leaseOf(lockKey) || l === leaseOf(leaderKey)), []);
    });

    test('coord lock -- cmd stops the whole process group of the command when the lock is lost (item 6)', async () => {
      await backend.startFresh();
      const pidFile = join(work, `sleep-${name.replace(' ', '-')}.pid`);
      const holder = cli(['lock', 'job', '--endpoints', backend.endpoint, '--', 'sh', '-c', `sleep 300 & echo $! > ${pidFile}; echo started; wait`]);
      await holder.line(/^started$/);
      const sleepPid = Number(readFileSync(pidFile, 'utf8'));
      assert.ok(alive(sleepPid));
      // Someone removes the lock from outside (an operator's etcdctl del): the hold is lost.
      const c = new EtcdClient({ endpoints: backend.endpoint });
      try {
        const deleted = await c.delete('/coord/locks/job/', { prefix: true });
        assert.equal(deleted.deleted, 1);
      } finally {
        c.close();
      }
      assert.deepEqual(await holder.exited, { code: 1, signal: null }, holder.output());
      const deadline = Date.now() + 10_000;
      while (alive(sleepPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const left = alive(sleepPid);
      if (left) process.kill(sleepPid, 'SIGKILL');
      assert.equal(left, false, "the command's child (sleep) was stopped with it");
      assert.match(holder.output(), /lock job lost .*stopping the command and its process group/);
    });

    test('coord lock --wait-timeout gives up when the lock stays busy', async () => {
      await backend.startFresh();
      const holder = cli(['lock', 'busy', '--endpoints', backend.endpoint, '--', 'sh', '-c', 'echo holding; sleep 300']);
      await holder.line(/^holding$/);
      const waiter = cli(['lock', 'busy', '--endpoints', backend.endpoint, '--wait-timeout', '300', '--', 'true']);
      assert.deepEqual(await waiter.exited, { code: 1, signal: null });
      assert.match(waiter.output(), /lock busy not held within --wait-timeout 300 ms/);
      holder.signal('SIGTERM');
      assert.deepEqual(await holder.exited, { code: 143, signal: null }, holder.output());
    });
  });
}

test('an unreachable etcd reads as one sentence: where, why, what coord was doing (item 7)', async () => {
  const port = await freePort();
  const r = cli(['services', 'greeter', '--endpoints', `127.0.0.1:${port}`, '--timeout', '1000']);
  assert.deepEqual(await r.exited, { code: 1, signal: null });
  const stderr = r.output().split('--- stderr\n')[1];
  console.log(`# the error as printed: ${stderr.trim()}`);
  // The CLI's endpoint probe answers first (the client's own sentence, "… while asking for status",
  // when the probe connects but a call then fails): either way one line naming where and why.
  assert.match(stderr, new RegExp(`^coord: cannot reach etcd at 127\\.0\\.0\\.1:${port} \\(connection refused\\)( while asking for status)?\\n$`));
});
