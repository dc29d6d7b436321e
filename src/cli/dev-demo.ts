// The --demo part of `coord dev`: the shop's database (DATABASE_URL, else PGlite in <dir>/shop-db
// served over the PostgreSQL wire protocol by this process), the shop's services (examples/shop),
// the gateway in front of them with a demo JWT, and the banner with copy-paste commands.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Coord } from '../coord.ts';
import { SHOP_INSTANCES, startShop, type ShopInstance } from '../../examples/shop/launch.ts';
import type { PGliteServer } from './pglite-server.ts';

export interface DemoOptions {
  coord: Coord;
  endpoints: string;
  dir: string;
  gatewayListen: string;
  jwtSecret?: string;
  /** The shop's PostgreSQL; default env DATABASE_URL, else a PGlite bridge on <dir>/shop-db. */
  databaseUrl?: string;
  /** NATS for the shop's events; default env NATS_URL, else the embedded engine. */
  natsUrl?: string;
  log: (line: string) => void;
}

export interface Demo {
  readonly instances: ShopInstance[];
  /** Undefined when the gateway is not available. */
  readonly gatewayUrl: string | undefined;
  readonly token: string;
  readonly jwtSecretFile: string | undefined;
  /** What the services use (printed without its password). */
  readonly databaseUrl: string;
  /** The PGlite data directory when the demo serves its own database, else undefined (DATABASE_URL). */
  readonly databaseDir: string | undefined;
  /** Stops the gateway, then every service (they drain and deregister), then the database bridge. */
  close(): Promise<void>;
  /** SIGKILLs every service still running (a second Ctrl-C). */
  kill(): void;
}

export async function startDemo(o: DemoOptions): Promise<Demo> {
  // Loaded here, not at the top: every `coord` command imports this module for printBanner, and
  // only --demo needs jose and the gateway (Fastify, protobufjs).
  const [{ SignJWT }, { startShopGateway }] = await Promise.all([import('jose'), import('./dev-gateway.ts')]);
  const { secret, file } = jwtSecret(o.dir, o.jwtSecret);
  const token = await new SignJWT({ scope: 'orders:write', name: 'Demo User' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('u1')
    .setIssuer('coord-dev')
    .setIssuedAt()
    .setExpirationTime('30d')
    .sign(new TextEncoder().encode(secret));
  const given = o.databaseUrl ?? process.env.DATABASE_URL;
  const databaseDir = given ? undefined : join(o.dir, 'shop-db');
  let bridge: PGliteServer | undefined;
  if (databaseDir) {
    o.log(`coord dev: starting the shop database (PGlite in ${databaseDir}; its first start initialises it, about 5 s)`);
    const { startPGliteServer } = await import('./pglite-server.ts');
    bridge = await startPGliteServer({ dataDir: databaseDir, log: (line) => o.log(`coord dev: ${line}`) });
  }
  const databaseUrl = given ?? bridge!.url;
  // Built apart from the call: `databaseUrl` and `natsUrl` are ShopOptions of the shop's
  // PostgreSQL version (examples/shop/launch.ts); an older ShopOptions leaves them out.
  const shopOptions = {
    endpoints: o.endpoints,
    namespace: o.coord.namespace,
    logDir: join(o.dir, 'logs'),
    databaseUrl,
    natsUrl: o.natsUrl ?? (process.env.NATS_URL || undefined),
    log: (line: string) => o.log(`coord dev: ${line}`),
  };
  let shop: Awaited<ReturnType<typeof startShop>>;
  try {
    shop = await startShop(shopOptions);
  } catch (e) {
    await bridge?.close();
    throw e;
  }
  let gateway: Awaited<ReturnType<typeof startShopGateway>> | undefined;
  try {
    gateway = await startShopGateway({ coord: o.coord, listen: o.gatewayListen, jwtSecret: secret, log: o.log });
  } catch (e) {
    await shop.close();
    await bridge?.close();
    throw e;
  }
  return {
    instances: shop.instances,
    gatewayUrl: gateway?.url,
    token,
    jwtSecretFile: file,
    databaseUrl,
    databaseDir,
    async close() {
      await gateway?.close();
      await shop.close();
      await bridge?.close();
    },
    kill() {
      for (const i of shop.instances) {
        try {
          process.kill(i.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}

/** The given secret, else the one kept in <dir>/jwt-secret (created on first use), so tokens survive restarts. */
function jwtSecret(dir: string, given: string | undefined): { secret: string; file: string | undefined } {
  if (given) return { secret: given, file: undefined };
  const file = join(dir, 'jwt-secret');
  try {
    return { secret: readFileSync(file, 'utf8').trim(), file };
  } catch {
    const secret = randomBytes(32).toString('base64url');
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    return { secret, file };
  }
}

export interface BannerInfo {
  storeEndpoint: string;
  dataDir: string | undefined;
  dashboardUrl: string;
  demo: Demo | undefined;
  dir: string;
}

/** What `coord dev` prints once everything is up (stdout; logs go to stderr). */
export function printBanner(b: BannerInfo): void {
  const rel = (p: string) => relative(process.cwd(), p) || '.';
  const lines = [
    '',
    `coord dev is running. Ctrl-C stops everything.`,
    '',
    `  store       ${b.storeEndpoint}  (etcd v3 API; ${b.dataDir ? `data in ${rel(b.dataDir)}` : 'in memory'})`,
    `  dashboard   ${b.dashboardUrl}`,
  ];
  const demo = b.demo;
  if (demo) {
    const counts = new Map<string, number>();
    for (const i of SHOP_INSTANCES) counts.set(i.service, (counts.get(i.service) ?? 0) + 1);
    lines.push(
      `  gateway     ${demo.gatewayUrl ?? 'not available (src/gateway is not built yet)'}`,
      `  services    ${[...counts].map(([s, n]) => `${s} x${n}`).join(', ')}  (logs in ${rel(join(b.dir, 'logs'))})`,
      `  database    ${redact(demo.databaseUrl)}  (${demo.databaseDir ? `PGlite, data in ${rel(demo.databaseDir)}; psql it while the demo runs` : 'DATABASE_URL'})`,
      '',
      `Demo JWT (HS256; ${demo.jwtSecretFile ? `secret in ${rel(demo.jwtSecretFile)}` : 'secret from --jwt-secret'}); creating an order needs it:`,
      `  ${demo.token}`,
    );
    if (demo.gatewayUrl) {
      lines.push('', 'Try:', ...curlCommands(demo.gatewayUrl, demo.token).map((c) => `  ${c}`));
    }
    lines.push(
      '',
      'Then watch it in the dashboard while you:',
      '  npx coord demo load --rps 20 --duration 60     # steady order traffic, per-second ok/failed/p99',
      '  npx coord demo kill inventory-service           # kill -9 one instance: orders keep flowing',
      '  npx coord demo slow order-service --ms 300      # slow one instance: p2c sends it less traffic',
    );
  } else {
    lines.push('', `Point any etcd client at ${b.storeEndpoint}; add --demo for the demo shop.`);
  }
  console.log(`${lines.join('\n')}\n`);
}

/** `url` without its password, for printing. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(DATABASE_URL is not a URL)';
  }
}

/** The three curl commands the banner prints (and the npm-start test runs). */
export function curlCommands(gatewayUrl: string, token: string): string[] {
  const base = gatewayUrl.replace(/\/$/, '');
  return [
    `curl -s ${base}/v1/users/u1`,
    `curl -s ${base}/v1/inventory/book`,
    `curl -s -X POST ${base}/v1/orders -H 'authorization: Bearer ${token}' -H 'content-type: application/json' -d '{"user_id":"u1","items":[{"sku":"book","quantity":2}]}'`,
  ];
}
