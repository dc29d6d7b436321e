// The --demo part of `coord dev`: the shop's services (examples/shop), the gateway in front of
// them with a demo JWT, and the banner with copy-paste commands.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Coord } from '../coord.ts';
import { SHOP_INSTANCES, startShop, type ShopInstance } from '../../examples/shop/launch.ts';

export interface DemoOptions {
  coord: Coord;
  endpoints: string;
  dir: string;
  gatewayListen: string;
  jwtSecret?: string;
  log: (line: string) => void;
}

export interface Demo {
  readonly instances: ShopInstance[];
  /** Undefined when the gateway is not available. */
  readonly gatewayUrl: string | undefined;
  readonly token: string;
  readonly jwtSecretFile: string | undefined;
  /** Stops the gateway, then every service (they drain and deregister). */
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
  const shop = await startShop({ endpoints: o.endpoints, namespace: o.coord.namespace, logDir: join(o.dir, 'logs'), log: (line) => o.log(`coord dev: ${line}`) });
  let gateway: Awaited<ReturnType<typeof startShopGateway>> | undefined;
  try {
    gateway = await startShopGateway({ coord: o.coord, listen: o.gatewayListen, jwtSecret: secret, log: o.log });
  } catch (e) {
    await shop.close();
    throw e;
  }
  return {
    instances: shop.instances,
    gatewayUrl: gateway?.url,
    token,
    jwtSecretFile: file,
    async close() {
      await gateway?.close();
      await shop.close();
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

/** The three curl commands the banner prints (and the npm-start test runs). */
export function curlCommands(gatewayUrl: string, token: string): string[] {
  const base = gatewayUrl.replace(/\/$/, '');
  return [
    `curl -s ${base}/v1/users/u1`,
    `curl -s ${base}/v1/inventory/book`,
    `curl -s -X POST ${base}/v1/orders -H 'authorization: Bearer ${token}' -H 'content-type: application/json' -d '{"user_id":"u1","items":[{"sku":"book","quantity":2}]}'`,
  ];
}
