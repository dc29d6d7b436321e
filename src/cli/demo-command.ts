// `coord demo load|kill|slow`: traffic and faults for the demo shop started by `coord dev --demo`,
// to watch failover, load balancing and config hot reload at work (on the dashboard, too).
import { hostname } from 'node:os';
import type * as grpc from '@grpc/grpc-js';
import type { Command } from 'commander';
import type { Coord } from '../coord.ts';
import { action, connectFrom, intArg, UsageError, withConnection, type ConnectionFlags } from './common.ts';
import { DEFAULT_DEV_DIR, readDevState, type DevState } from './demo-state.ts';
import { runLoad } from './demo-load.ts';

interface DemoFlags extends ConnectionFlags {
  dir: string;
}

const SKUS = ['book', 'mug', 'pen'];
const USERS = ['u1', 'u2', 'u3'];

export function registerDemoCommands(program: Command): void {
  const demo = program.command('demo').description('drive traffic and inject faults into the demo shop of `coord dev --demo`');
  const withDemo = (cmd: Command) =>
    withConnection(cmd).option('--dir <dir>', 'the directory of the running coord dev (env COORD_DEV_DIR)', DEFAULT_DEV_DIR);

  withDemo(demo.command('load'))
    .description('steady order traffic through the gateway (or gRPC); prints ok/failed and p99 every second; exit 1 if any order failed')
    .option('--rps <n>', 'orders per second', '20')
    .option('--duration <s>', 'how long, seconds', '30')
    .option('--via <how>', "'http' (the gateway) or 'grpc' (etcd:///order-service); default http when the gateway runs")
    .option('--gateway <url>', 'gateway URL (default: the running coord dev’s)')
    .option('--token <jwt>', 'JWT for POST /v1/orders (default: the running coord dev’s demo token)')
    .action(
      action(async (f: DemoFlags & { rps: string; duration: string; via?: string; gateway?: string; token?: string }, cmd: Command) => {
        const rps = intArg('--rps', f.rps)!;
        const durationS = intArg('--duration', f.duration)!;
        if (rps < 1 || durationS < 1) throw new UsageError('--rps and --duration must be at least 1');
        const state = readDevState(f.dir);
        const gateway = f.gateway ?? state?.gatewayUrl;
        const via = f.via ?? (gateway ? 'http' : 'grpc');
        if (via !== 'http' && via !== 'grpc') throw new UsageError(`--via must be http or grpc, got '${via}'`);
        const { status, credentials } = await import('@grpc/grpc-js');
        const order = () => ({ user_id: USERS[Math.floor(Math.random() * USERS.length)], items: [{ sku: SKUS[Math.floor(Math.random() * SKUS.length)], quantity: 1 }] });
        if (via === 'http') {
          if (!gateway) throw new UsageError('no gateway: start `coord dev --demo` (or pass --gateway <url>), or use --via grpc');
          const token = f.token ?? state?.token;
          const url = new URL('v1/orders', gateway.endsWith('/') ? gateway : `${gateway}/`);
          const result = await runLoad({
            rps,
            durationS,
            print: (line) => console.log(line),
            async send() {
              const res = await fetch(url, {
                method: 'POST',
                headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
                body: JSON.stringify(order()),
                signal: AbortSignal.timeout(30_000),
              });
              const text = await res.text();
              if (!res.ok) {
                let body: { code?: number; message?: string } = {};
                try {
                  body = JSON.parse(text);
                } catch {
                  body = { message: text };
                }
                throw new Error(`HTTP ${res.status} ${status[body.code ?? -1] ?? ''}: ${sameish(body.message ?? '')}`);
              }
            },
          });
          return result.failed === 0 && result.ok > 0 ? 0 : 1;
        }
        // Only --via grpc needs the resolver, balancers and interceptors: not loaded for other commands.
        const { clientInterceptors, methodPolicies, serviceConfig, setup } = await import('../grpc/index.ts');
        const { call, shop } = await import('../../examples/shop/lib/proto.ts');
        const coord = await connectDemo(f, cmd, state);
        try {
          setup({ coord });
          const orders = new (shop().OrderService)('etcd:///order-service', credentials.createInsecure(), {
            interceptors: clientInterceptors(),
            'grpc.service_config': serviceConfig(methodPolicies({ 'shop.v1.OrderService': { timeoutMs: 30_000, retry: { maxAttempts: 3 } } })),
          });
          const result = await runLoad({
            rps,
            durationS,
            print: (line) => console.log(line),
            async send() {
              await call(orders, 'CreateOrder', order()).catch((e: grpc.ServiceError) => {
                throw new Error(`${status[e.code] ?? e.code}: ${sameish(e.details)}`);
              });
            },
          });
          orders.close();
          return result.failed === 0 && result.ok > 0 ? 0 : 1;
        } finally {
          await coord.close();
        }
      }),
    );

  withDemo(demo.command('kill'))
    .argument('<service>', 'e.g. inventory-service')
    .description('kill -9 one instance of a demo service (found in the registry by its pid)')
    .option('--id <id>', 'which instance (default: the one with the highest id)')
    .action(
      action(async (service: string, f: DemoFlags & { id?: string }, cmd: Command) => {
        const coord = await connectDemo(f, cmd, readDevState(f.dir));
        try {
          const [target] = await pick(coord, service, f.id, false);
          const pid = Number(target.metadata?.pid);
          if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${target.id} has no pid in its registry metadata: not a demo instance`);
          if (target.metadata?.host !== hostname()) throw new Error(`${target.id} runs on ${String(target.metadata?.host)}, not on this machine`);
          process.kill(pid, 'SIGKILL');
          console.log(`killed ${target.id} (pid ${pid}) with SIGKILL: clients fail over now; its registration expires with its lease within 5 s`);
        } finally {
          await coord.close();
        }
      }),
    );

  withDemo(demo.command('slow'))
    .argument('<service>', 'e.g. order-service')
    .description('make one instance of a demo service answer slower (through the config key shop/faults, which every instance watches)')
    .option('--ms <n>', 'added latency per call, ms (0 removes it)', '300')
    .option('--id <id>', 'which instance (default: the one with the highest id)')
    .option('--all', 'every instance of the service')
    .action(
      action(async (service: string, f: DemoFlags & { ms: string; id?: string; all?: boolean }, cmd: Command) => {
        const ms = intArg('--ms', f.ms)!;
        const { FAULTS, FaultsSchema } = await import('../../examples/shop/lib/faults.ts');
        const coord = await connectDemo(f, cmd, readDevState(f.dir));
        try {
          const targets = await pick(coord, service, f.id, !!f.all);
          const faults = coord.config.typed(FAULTS.namespace, FAULTS.key, FaultsSchema);
          const current = (await faults.get())?.value;
          const slowMs = { ...current?.slowMs };
          for (const t of targets) {
            if (ms > 0) slowMs[t.id] = ms;
            else delete slowMs[t.id];
          }
          const ids = targets.map((t) => t.id).join(', ');
          const v = await faults.publish({ ...current, slowMs }, { author: 'coord demo', message: ms ? `slow ${ids} by ${ms} ms` : `${ids} at full speed` });
          console.log(`${ids}: ${ms ? `${ms} ms added to every call` : 'no added latency'} (config ${FAULTS.namespace}/${FAULTS.key} v${v.version})`);
        } finally {
          await coord.close();
        }
      }),
    );
}

/** A failure message without its numbers (counts, ids, ports), so that failures of one kind are counted together. */
function sameish(message: string): string {
  return message.replace(/\d+/g, 'N');
}

/** The running coord dev's store unless --endpoints/--namespace were given; fails at once when it does not answer. */
async function connectDemo(f: DemoFlags, cmd: Command, state: DevState | undefined): Promise<Coord> {
  const fromState = (flag: string) => cmd.getOptionValueSource(flag) === 'default' && state;
  const coord = connectFrom({ ...f, endpoints: fromState('endpoints') ? state!.endpoints : f.endpoints, namespace: fromState('namespace') ? state!.namespace : f.namespace });
  try {
    await coord.etcd.status();
  } catch (e) {
    await coord.close();
    throw e;
  }
  return coord;
}

async function pick(coord: Coord, service: string, id: string | undefined, all: boolean) {
  const instances = (await coord.instances(service)).sort((a, b) => b.id.localeCompare(a.id));
  if (instances.length === 0) throw new Error(`no instances of ${service} are registered (is \`coord dev --demo\` running?)`);
  if (id) {
    const found = instances.find((i) => i.id === id);
    if (!found) throw new Error(`${service} has no instance ${id} (instances: ${instances.map((i) => i.id).join(', ')})`);
    return [found];
  }
  return all ? instances : [instances[0]];
}
