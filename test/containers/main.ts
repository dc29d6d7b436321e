// `npm run containers`: the images users get, built and run here. Builds the base image the
// Dockerfiles name (test/containers/base-image.ts), packs this clone, builds deploy/Dockerfile (the
// coord CLI/store) and deploy/service.Dockerfile (the demo shop's services from the installed
// package), runs the store on a volume and the shop in containers (`--network host`: no bridge
// here), drives calls through the registry and shows:
//   docker stop of a service container → 0 failed calls (SIGTERM drain)
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
import { pack } from '../helpers/package-install.ts';
import { ensureBaseImage } from './base-image.ts';
import { openDocker, type Docker } from './docker.ts';
import { freePorts } from '../helpers/etcd-cluster.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const STATE = process.env.COORD_CONTAINERS_DIR ?? '/var/tmp/coord-containers';
const NODE_MAJOR = Number(process.env.COORD_CONTAINERS_NODE ?? 24);
const BASE = `node:${NODE_MAJOR}-bookworm-slim`;
const RUN = randomBytes(3).toString('hex');
const SHOP = [
  { service: 'user-service', id: 'user-service-1', zone: 'a' },
  { service: 'inventory-service', id: 'inventory-service-1', zone: 'a' },
  { service: 'inventory-service', id: 'inventory-service-2', zone: 'b' },
  { service: 'order-service', id: 'order-service-1', zone: 'a' },
  { service: 'order-service', id: 'order-service-2', zone: 'b' },
];
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
    // The demo shop as a user's service: a package.json depending on the package, and an entry point.
    writeFileSync(join(shopCtx, 'package.json'), JSON.stringify({ name: 'coord-shop', private: true, type: 'module', dependencies: { 'etcd-coord': `file:./${basename(packed.tarball)}` } }, null, 2));
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

/** Calls through the registry from this process while the containers are stopped and killed. */
class Traffic {
  ok = 0;
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
    const call = (client: grpc.Client, method: string, request: object) =>
      new Promise<void>((resolve, reject) =>
        (client as unknown as Record<string, (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void>)[method](request, { deadline: Date.now() + 5000 }, (e) => (e ? reject(e) : resolve())),
      );
    const loop = async (fn: () => Promise<void>) => {
      while (!this.stopped) {
        try {
          await fn();
          this.ok++;
        } catch (e) {
          const key = `${grpc.status[(e as grpc.ServiceError).code] ?? 'ERROR'}: ${(e as Error).message.slice(0, 120)}`;
          this.failed.set(key, (this.failed.get(key) ?? 0) + 1);
          this.lastFailureAt = Date.now();
        }
      }
    };
    for (let i = 0; i < 4; i++) this.loops.push(loop(() => call(inventory, 'GetStock', { sku: 'book' })));
    for (let i = 0; i < 2; i++) this.loops.push(loop(() => call(orders, 'CreateOrder', { user_id: 'u1', items: [{ sku: 'pen', quantity: 1 }] })));
  }

  failures(): number {
    return [...this.failed.values()].reduce((a, b) => a + b, 0);
  }

  reset(): void {
    this.ok = 0;
    this.failed.clear();
  }

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
  try {
    await ensureBaseImage(docker, { tag: BASE, nodeMajor: NODE_MAJOR, cacheDir: STATE, log });
    const images = await buildImages(docker);
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
      await docker.run(['run', '-d', '--name', name, '--network', 'host', '--stop-timeout', '30', '-e', `COORD_ENDPOINTS=${endpoint}`, '-e', `SHOP_ID=${s.id}`, '-e', `SHOP_ZONE=${s.zone}`, '-e', `SHOP_SERVICE=${s.service}`, images.shop]);
      containers.push(name);
    }
    const registered = async () => {
      const ids = (await Promise.all(['user-service', 'inventory-service', 'order-service'].map((n) => c.instances(n)))).flat().map((i) => i.id);
      return SHOP.every((s) => ids.includes(s.id)) ? ids : undefined;
    };
    await until('every shop instance registered', 120_000, registered);
    log('shop registered: 5 instances in 5 containers');

    const traffic = new Traffic(c);
    await until('calls flowing', 30_000, async () => traffic.ok > 50);
    traffic.reset();

    // docker stop: SIGTERM → serve() drains (NOT_SERVING, draining in the registry), deregisters, exits.
    const stops: Array<[string, number]> = [];
    for (const id of ['inventory-service-2', 'order-service-2']) {
      const t0 = Date.now();
      await docker.run(['stop', `${id}-${RUN}`]);
      stops.push([id, Date.now() - t0]);
      const exit = (await docker.run(['inspect', '-f', '{{.State.ExitCode}}', `${id}-${RUN}`])).trim();
      log(`docker stop ${id}: exited ${exit} after ${seconds(Date.now() - t0)}`);
    }
    await sleep(1000);
    const stopResult = { ok: traffic.ok, failed: traffic.failures(), errors: new Map(traffic.failed) };
    for (const id of ['inventory-service-2', 'order-service-2']) await docker.run(['start', `${id}-${RUN}`]);
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
    await sleep(1000);
    const killResult = { ok: traffic.ok, failed: traffic.failures(), errors: new Map(traffic.failed) };
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
    console.log('\n| fault | result | calls ok | calls failed |');
    console.log('|---|---|---|---|');
    console.log(`| docker stop inventory-service-2, order-service-2 | exit after ${stops.map(([, ms]) => seconds(ms)).join(', ')} | ${stopResult.ok} | ${stopResult.failed} |`);
    console.log(`| docker kill inventory-service-2 | last failed call ${seconds(lastFailure)} after the kill; out of discovery after ${seconds(routedAway)} (TTL ${TTL_SECONDS} s) | ${killResult.ok} | ${killResult.failed} |`);
    console.log(`| store: docker stop (SIGTERM) + start, then docker kill + start, volume kept | stop took ${seconds(storeStop)}; ${acked.size} writes acknowledged, ${lost.length} lost | | ${putFailures} puts refused while down |`);
    for (const [label, r] of [['stop', stopResult], ['kill', killResult]] as const) for (const [e, count] of r.errors) console.log(`  ${label}: ${count} × ${e}`);
    // Discovery drops the instance at lease expiry: the TTL after its last keepalive, plus the docker CLI's own latency.
    const pass = stopResult.failed === 0 && lost.length === 0 && lastFailure <= TTL_SECONDS * 1000 && routedAway <= TTL_SECONDS * 1000 + 3000;
    console.log(pass ? '\nPASS' : '\nFAIL');
    return pass ? 0 : 1;
  } finally {
    await coord?.close();
    for (const name of containers.reverse()) await docker.run(['rm', '-f', name]).catch((e) => log(`cleanup: ${(e as Error).message}`));
    await docker.run(['volume', 'rm', '-f', volume]).catch((e) => log(`cleanup: ${(e as Error).message}`));
    await docker.close();
  }
}

process.exitCode = await main().catch((e) => {
  console.error(e);
  return 1;
});
