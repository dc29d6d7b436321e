// `npm run containers`: the images users get, built and run here. Builds the base image the
// Dockerfiles name (test/containers/base-image.ts), packs this clone, builds deploy/Dockerfile (the
// coord CLI/store) and deploy/service.Dockerfile (the demo shop's services from the installed
// package, with `pg`), starts a real PostgreSQL on the host (the shop's business data; the
// containers reach it on 127.0.0.1 with `--network host`: no bridge here), runs the store on a
// volume and the shop's eight instances in containers, creates orders through the registry and
// waits for each to be paid (GetOrder), reads stock beside them, and shows:
//   docker stop of a service container → 0 failed calls, every order paid (SIGTERM drain)
//   docker kill of a service container → routed away within the TTL
//   the store container restarted (SIGTERM) and killed (SIGKILL) on its volume → nothing acknowledged lost
// Exit code 1 if any of those does not hold. Too slow for every CI run (images, debootstrap).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { connect, type Coord } from 'etcd-coord';
import { setup } from 'etcd-coord/grpc';
import { SHOP_INSTANCES } from '../../examples/shop/launch.ts';
import { pack } from '../helpers/package-install.ts';
import { startPostgres, type PostgresProcess } from '../helpers/postgres-process.ts';
import { ensureBaseImage } from './base-image.ts';
import { openDocker, type Docker } from './docker.ts';
import { freePorts } from '../helpers/etcd-cluster.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const STATE = process.env.COORD_CONTAINERS_DIR ?? '/var/tmp/coord-containers';
const NODE_MAJOR = Number(process.env.COORD_CONTAINERS_NODE ?? 24);
const BASE = `node:${NODE_MAJOR}-bookworm-slim`;
const RUN = randomBytes(3).toString('hex');
const SHOP = SHOP_INSTANCES;
const SERVICES = [...new Set(SHOP.map((s) => s.service))];
/** Stopped with docker stop (each has a twin in the other zone that keeps serving). */
const STOPPED = ['inventory-service-2', 'order-service-2', 'payment-service-2'];
/** How long an order may take from CreateOrder to `paid` before it counts as failed. */
const ORDER_DEADLINE_MS = 60_000;
const TTL_SECONDS = 5; // the shop registers with ttl 5 (examples/shop/lib/service.ts)

const log = (line: string) => console.log(`[containers] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

async function buildImages(docker: Docker): Promise<{ coord: string; shop: string; sizes: Record<string, number> }> {
  const work = mkdtempSync(join(tmpdir(), 'coord-images-'));
  try {
    log('npm pack (builds dist/)');
    const packed = await pack(work);
    const coordCtx = join(work, 'coord');
    const shopCtx = join(work, 'shop');
    mkdirSync(coordCtx);
    mkdirSync(shopCtx);
    copyFileSync(packed.tarball, join(coordCtx, basename(packed.tarball)));
    copyFileSync(packed.tarball, join(shopCtx, basename(packed.tarball)));
    // The demo shop as a user's service: a package.json depending on the package and on `pg` (an
    // optional peer dependency of etcd-coord, so npm does not install it unless the service asks:
    // the shop keeps its business data in PostgreSQL), and an entry point.
    const pg = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> }).peerDependencies.pg;
    writeFileSync(join(shopCtx, 'package.json'), JSON.stringify({ name: 'coord-shop', private: true, type: 'module', dependencies: { 'etcd-coord': `file:./${basename(packed.tarball)}`, pg } }, null, 2));
    copyFileSync(join(ROOT, 'deploy/shop-main.mjs'), join(shopCtx, 'main.mjs'));
    const coord = `coord:${RUN}`;
    const shop = `coord-shop:${RUN}`;
    log(`docker build deploy/Dockerfile → ${coord}`);
    await docker.run(['build', '--network', 'host', '--build-arg', `NODE_IMAGE=${BASE}`, '-f', join(ROOT, 'deploy/Dockerfile'), '-t', coord, coordCtx]);
    log(`docker build deploy/service.Dockerfile → ${shop}`);
    await docker.run(['build', '--network', 'host', '--build-arg', `NODE_IMAGE=${BASE}`, '-f', join(ROOT, 'deploy/service.Dockerfile'), '-t', shop, shopCtx]);
    const size = async (tag: string) => Number((await docker.run(['image', 'inspect', '-f', '{{.Size}}', tag])).trim());
    return { coord, shop, sizes: { [BASE]: await size(BASE), [coord]: await size(coord), [shop]: await size(shop) } };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Traffic through the registry from this process while the containers are stopped and killed: two
 * loops each create an order (CreateOrder on etcd:///order-service) and poll GetOrder until it is
 * `paid` (inventory reserves, payment charges, all through the outboxes and events); four loops
 * read stock (GetStock on etcd:///inventory-service). A failed call, an order cancelled, or one not
 * paid within ORDER_DEADLINE_MS counts as failed.
 */
class Traffic {
  ok = 0;
  ordersPaid = 0;
  failed = new Map<string, number>();
  /** When the last call failed (ms since the epoch). */
  lastFailureAt = 0;
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(coord: Coord) {
    setup({ coord });
    const def = protoLoader.loadSync(join(ROOT, 'examples/shop/proto/shop.proto'), {
      keepCase: true,
      longs: String,
      defaults: true,
      includeDirs: [dirname(dirname(dirname(createRequire(import.meta.url).resolve('protobufjs/google/api/annotations.proto'))))],
    });
    const pkg = (grpc.loadPackageDefinition(def) as unknown as { shop: { v1: Record<string, grpc.ServiceClientConstructor> } }).shop.v1;
    const inventory = new pkg.InventoryService('etcd:///inventory-service', grpc.credentials.createInsecure());
    const orders = new pkg.OrderService('etcd:///order-service', grpc.credentials.createInsecure());
    const call = <T>(client: grpc.Client, method: string, request: object) =>
      new Promise<T>((resolve, reject) =>
        (client as unknown as Record<string, (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: T) => void) => void>)[method](request, { deadline: Date.now() + 5000 }, (e, v) => (e ? reject(e) : resolve(v))),
      );
    const fail = (key: string) => {
      this.failed.set(key, (this.failed.get(key) ?? 0) + 1);
      this.lastFailureAt = Date.now();
    };
    const attempt = async (fn: () => Promise<void>) => {
      try {
        await fn();
        this.ok++;
      } catch (e) {
        const code = (e as grpc.ServiceError).code;
        fail(code === undefined ? (e as Error).message : `${grpc.status[code] ?? 'ERROR'}: ${(e as Error).message.slice(0, 120)}`);
      }
    };
    const order = async () => {
      let id = '';
      await attempt(async () => {
        id = (await call<{ id: string }>(orders, 'CreateOrder', { user_id: 'u1', items: [{ sku: 'pen', quantity: 1 }] })).id;
      });
      if (!id) return;
      const deadline = Date.now() + ORDER_DEADLINE_MS;
      for (;;) {
        let status = '';
        await attempt(async () => {
          status = (await call<{ status: string }>(orders, 'GetOrder', { id })).status;
        });
        if (status === 'paid') return void this.ordersPaid++;
        if (status === 'cancelled') return fail('order cancelled');
        if (Date.now() > deadline) return fail(`order not paid within ${seconds(ORDER_DEADLINE_MS)} (status ${status || 'unknown'})`);
        await sleep(100);
      }
    };
    const loop = async (fn: () => Promise<void>) => {
      while (!this.stopped) await fn();
    };
    for (let i = 0; i < 4; i++) this.loops.push(loop(() => attempt(() => call(inventory, 'GetStock', { sku: 'book' }))));
    for (let i = 0; i < 2; i++) this.loops.push(loop(order));
  }

  failures(): number {
    return [...this.failed.values()].reduce((a, b) => a + b, 0);
  }

  reset(): void {
    this.ok = 0;
    this.ordersPaid = 0;
    this.failed.clear();
  }

  /** Stops the loops once each has finished its order (paid, or failed by its deadline). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

async function main(): Promise<number> {
  const docker = await openDocker(join(STATE, 'dockerd'), log);
  const containers: string[] = [];
  const volume = `coord-data-${RUN}`;
  let coord: Coord | undefined;
  let postgres: PostgresProcess | undefined;
  let running: Traffic | undefined;
  try {
    await ensureBaseImage(docker, { tag: BASE, nodeMajor: NODE_MAJOR, cacheDir: STATE, log });
    const images = await buildImages(docker);
    postgres = await startPostgres();
    log(`PostgreSQL on the host (pid ${postgres.pid}): ${postgres.url}`);
    const [port] = await freePorts(1);
    const endpoint = `127.0.0.1:${port}`;
    const storeName = `coord-store-${RUN}`;
    log(`store container on ${endpoint}, data on volume ${volume}`);
    await docker.run(['volume', 'create', volume]);
    await docker.run(['run', '-d', '--name', storeName, '--network', 'host', '-v', `${volume}:/data`, images.coord, 'store', '--data-dir', '/data', '--listen', endpoint]);
    containers.push(storeName);
    coord = connect({ endpoints: endpoint });
    const c = coord;
    await until('the store', 60_000, () => c.etcd.status({ timeoutMs: 1000 }).then(() => true));

    for (const s of SHOP) {
      const name = `${s.id}-${RUN}`;
      await docker.run(['run', '-d', '--name', name, '--network', 'host', '--stop-timeout', '30', '-e', `COORD_ENDPOINTS=${endpoint}`, '-e', `SHOP_ID=${s.id}`, '-e', `SHOP_ZONE=${s.zone}`, '-e', `SHOP_SERVICE=${s.service}`, '-e', `DATABASE_URL=${postgres.url}`, images.shop]);
      containers.push(name);
    }
    const registered = async () => {
      const ids = (await Promise.all(SERVICES.map((n) => c.instances(n)))).flat().map((i) => i.id);
      return SHOP.every((s) => ids.includes(s.id)) ? ids : undefined;
    };
    await until('every shop instance registered', 120_000, registered);
    log(`shop registered: ${SHOP.length} instances in ${SHOP.length} containers`);

    const traffic = new Traffic(c);
    running = traffic;
    await until('calls flowing and orders paid', 120_000, async () => traffic.ok > 50 && traffic.ordersPaid >= 4);
    traffic.reset();

    // docker stop: SIGTERM → serve() drains (NOT_SERVING, draining in the registry), deregisters, exits.
    const stops: Array<[string, number]> = [];
    for (const id of STOPPED) {
      const t0 = Date.now();
      await docker.run(['stop', `${id}-${RUN}`]);
      stops.push([id, Date.now() - t0]);
      const exit = (await docker.run(['inspect', '-f', '{{.State.ExitCode}}', `${id}-${RUN}`])).trim();
      log(`docker stop ${id}: exited ${exit} after ${seconds(Date.now() - t0)}`);
    }
    // The orders in flight during the stops are waited for (paid, or failed at their deadline).
    const paidAtStop = traffic.ordersPaid;
    await until('orders paid after the stops', ORDER_DEADLINE_MS + 10_000, async () => traffic.ordersPaid >= paidAtStop + 4 || traffic.failures() > 0);
    const stopResult = { ok: traffic.ok, paid: traffic.ordersPaid, failed: traffic.failures(), errors: new Map(traffic.failed) };
    for (const id of STOPPED) await docker.run(['start', `${id}-${RUN}`]);
    await until('the stopped instances back', 120_000, registered);
    traffic.reset();

    // docker kill: SIGKILL, nothing deregisters; the lease expires within the TTL.
    const discovery = c.discover('inventory-service');
    await discovery.ready;
    const t0 = Date.now();
    await docker.run(['kill', `inventory-service-2-${RUN}`]);
    await until('the killed instance out of discovery', 60_000, async () => !discovery.snapshot().instances.some((i) => i.id === 'inventory-service-2'));
    const routedAway = Date.now() - t0;
    discovery.close();
    const paidAtKill = traffic.ordersPaid;
    await until('orders paid after the kill', ORDER_DEADLINE_MS + 10_000, async () => traffic.ordersPaid >= paidAtKill + 4 || traffic.failures() > 0);
    const killResult = { ok: traffic.ok, paid: traffic.ordersPaid, failed: traffic.failures(), errors: new Map(traffic.failed) };
    // Routed away: no call failed after this (the balancer leaves a dead address before the registry does).
    const lastFailure = traffic.lastFailureAt > t0 ? traffic.lastFailureAt - t0 : 0;
    log(`docker kill inventory-service-2: last failed call ${seconds(lastFailure)} after the kill, out of discovery after ${seconds(routedAway)} (TTL ${TTL_SECONDS} s)`);
    await docker.run(['start', `inventory-service-2-${RUN}`]);
    await until('the killed instance back', 120_000, registered);
    await traffic.stop();

    // The store on its volume: acknowledged writes survive a restart (SIGTERM) and a kill (SIGKILL).
    let n = 0;
    const acked = new Set<string>();
    let writing = true;
    let putFailures = 0;
    const writer = (async () => {
      while (writing) {
        const key = `/deploy-check/${RUN}/${String(n++).padStart(6, '0')}`;
        try {
          await c.etcd.put(key, 'v');
          acked.add(key);
        } catch {
          putFailures++; // not acknowledged: not counted as written
          await sleep(50);
        }
      }
    })();
    await until('writes acknowledged', 30_000, async () => acked.size > 100);
    const s0 = Date.now();
    await docker.run(['stop', '-t', '30', storeName]);
    const storeStop = Date.now() - s0;
    await docker.run(['start', storeName]);
    await until('writes after the restart', 60_000, async () => acked.size > 300 && putFailures > 0);
    const ackedBeforeKill = acked.size;
    await docker.run(['kill', storeName]);
    await docker.run(['start', storeName]);
    await until('writes after the kill', 60_000, async () => acked.size > ackedBeforeKill + 200);
    writing = false;
    await writer;
    const present = new Set((await c.etcd.range(`/deploy-check/${RUN}/`, { prefix: true, keysOnly: true })).kvs.map((kv) => kv.key));
    const lost = [...acked].filter((k) => !present.has(k));
    await until('the shop re-registered after the store restarts', 120_000, registered);

    const mib = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
    console.log('\nimage sizes');
    for (const [tag, size] of Object.entries(images.sizes)) console.log(`  ${tag.padEnd(28)} ${mib(size)}`);
    console.log('\n| fault | result | calls ok | orders paid | failed |');
    console.log('|---|---|---|---|---|');
    console.log(`| docker stop ${STOPPED.join(', ')} | exit after ${stops.map(([, ms]) => seconds(ms)).join(', ')} | ${stopResult.ok} | ${stopResult.paid} | ${stopResult.failed} |`);
    console.log(`| docker kill inventory-service-2 | last failed call ${seconds(lastFailure)} after the kill; out of discovery after ${seconds(routedAway)} (TTL ${TTL_SECONDS} s) | ${killResult.ok} | ${killResult.paid} | ${killResult.failed} |`);
    console.log(`| store: docker stop (SIGTERM) + start, then docker kill + start, volume kept | stop took ${seconds(storeStop)}; ${acked.size} writes acknowledged, ${lost.length} lost; all ${SHOP.length} instances registered again | | | ${putFailures} puts refused while down |`);
    for (const [label, r] of [['stop', stopResult], ['kill', killResult]] as const) for (const [e, count] of r.errors) console.log(`  ${label}: ${count} × ${e}`);
    // Discovery drops the instance at lease expiry: the TTL after its last keepalive, plus the docker CLI's own latency.
    const pass = stopResult.failed === 0 && lost.length === 0 && lastFailure <= TTL_SECONDS * 1000 && routedAway <= TTL_SECONDS * 1000 + 3000;
    console.log(pass ? '\nPASS' : '\nFAIL');
    return pass ? 0 : 1;
  } finally {
    await running?.stop();
    await coord?.close();
    for (const name of containers.reverse()) await docker.run(['rm', '-f', name]).catch((e) => log(`cleanup: ${(e as Error).message}`));
    await docker.run(['volume', 'rm', '-f', volume]).catch((e) => log(`cleanup: ${(e as Error).message}`));
    await postgres?.stop().catch((e) => log(`cleanup: postgres: ${(e as Error).message}`));
    await docker.close();
  }
}

process.exitCode = await main().catch((e) => {
  console.error(e);
  return 1;
});
