// `coord dev`: everything a developer needs on one machine, in one process tree: coord store
// (data under ./.coord/), the admin API and dashboard, and with --demo the demo shop (five service
// processes) behind the HTTP gateway. Ctrl-C stops it all in order: the services drain and
// deregister, then the gateway, dashboard and store close.
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { AdminHandle } from '../admin/index.ts';
import { parseListen } from '../admin/auth.ts';
import type { Coord } from '../coord.ts';
import type { StoreHandle } from '../store/index.ts';
import { DEFAULT_DEV_DIR, removeDevState, writeDevState } from './demo-state.ts';
import type { Demo } from './dev-demo.ts';
import { storeOptions, withStoreFlags, type StoreFlags } from './store-command.ts';

interface DevFlags extends StoreFlags {
  demo?: boolean;
  dir: string;
  dashboardListen: string;
  gatewayListen: string;
  jwtSecret?: string;
}

export function registerDevCommand(program: Command): void {
  withStoreFlags(program.command('dev'))
    .description('local development: coord store (data under ./.coord/) and the dashboard; --demo adds the demo shop behind the gateway')
    .option('--demo', 'also run the demo shop (user, inventory x2, order x2 services) and the HTTP gateway in front of it')
    .option('--dir <dir>', 'where dev keeps data, logs and its state file (env COORD_DEV_DIR)', DEFAULT_DEV_DIR)
    .option('--dashboard-listen <host:port>', 'address of the admin API and dashboard', '127.0.0.1:8081')
    .option('--gateway-listen <host:port>', 'address of the HTTP gateway (--demo)', '127.0.0.1:8080')
    .option('--jwt-secret <secret>', 'HS256 secret for the demo JWT (env COORD_DEV_JWT_SECRET; default: generated once, kept in <dir>/jwt-secret)', process.env.COORD_DEV_JWT_SECRET)
    // Exits explicitly: whatever a library left scheduled must not keep a stopped dev alive.
    .action(async (flags: DevFlags) => process.exit(await runDev(flags)));
}

async function runDev(flags: DevFlags): Promise<number> {
  const dir = resolve(flags.dir);
  if (flags.demo && flags.cert) return fail('--demo runs without TLS: leave out --cert/--key for it');
  const listens: Array<[string, string]> = [
    ['store', flags.listen],
    ['dashboard', flags.dashboardListen],
    ...(flags.demo ? [['gateway', flags.gatewayListen] as [string, string]] : []),
  ];
  for (const [what, listen] of listens) {
    const flag = what === 'store' ? '--listen' : `--${what}-listen`;
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:[\]]*):\d{1,5}$/.test(listen)) {
      console.error(`coord dev: ${flag} must be host:port (e.g. 127.0.0.1:8080, or port 0 for any free one), got '${listen}'`);
      return 2;
    }
    const taken = await portTaken(what, flag, listen);
    if (taken) return fail(taken);
  }
  if (flags.demo) {
    const missing = (await import('./dev-demo-deps.ts')).missingDemoPackages();
    if (missing) {
      console.error(missing);
      return 2;
    }
  }
  mkdirSync(dir, { recursive: true });

  const log = (line: string) => console.error(line);
  let store: StoreHandle | undefined;
  let coord: Coord | undefined;
  let admin: AdminHandle | undefined;
  let demo: Demo | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await demo?.close();
      await admin?.close();
      await coord?.close();
      await store?.close();
      removeDevState(dir);
    })());

  let signals = 0;
  const stopped = new Promise<string>((resolveStop) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals === 1) return resolveStop(signal);
      console.error(`coord dev: ${signal} again: killing the demo services now`);
      demo?.kill();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  const options = storeOptions(flags, flags.memory ? undefined : (flags.dataDir ?? join(dir, 'data')));
  const [{ startStore }, { connect }, { printBanner, startDemo }] = await Promise.all([import('../store/index.ts'), import('../coord.ts'), import('./dev-demo.ts')]);
  try {
    store = await startStore(options);
    coord = connect({ endpoints: store.endpoint, log });
    const { startAdmin } = await import('../admin/index.ts');
    admin = await startAdmin({ coord, listen: flags.dashboardListen, author: process.env.USER || 'dev', log });
    if (flags.demo) demo = await startDemo({ coord, endpoints: store.endpoint, dir, gatewayListen: flags.gatewayListen, jwtSecret: flags.jwtSecret, log });
  } catch (e) {
    await stop();
    return fail((e as Error).message);
  }
  if (signals > 0) {
    await stop();
    return 0;
  }
  writeDevState(dir, {
    pid: process.pid,
    endpoints: store.endpoint,
    namespace: coord.namespace,
    dashboardUrl: admin.url,
    gatewayUrl: demo?.gatewayUrl,
    token: demo?.token,
    instances: demo?.instances ?? [],
  });
  printBanner({ storeEndpoint: store.endpoint, dataDir: options.dataDir, dashboardUrl: admin.url, demo, dir });

  const why = await Promise.race([stopped, store.failed.then((e) => `the store failed: ${e.message}`)]);
  console.error(`coord dev: ${why.startsWith('SIG') ? `${why}: stopping${demo ? ' (the services drain and deregister first)' : ''}` : why}`);
  await stop();
  console.error('coord dev: stopped');
  return why.startsWith('SIG') ? 0 : 1;
}

/** One line naming the taken port, or undefined when `listen` can be bound (port 0 always can). */
async function portTaken(what: string, flag: string, listen: string): Promise<string | undefined> {
  const { host, port } = parseListen(listen);
  if (port === 0) return undefined;
  return new Promise((resolveCheck) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) =>
      resolveCheck(
        e.code === 'EADDRINUSE'
          ? `coord dev: port ${port} (${what}, ${listen}) is already in use — is another coord dev running? Stop it, or pick another port with ${flag}`
          : `coord dev: cannot listen on ${listen} (${what}): ${e.code ?? e.message}`,
      ),
    );
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolveCheck(undefined)));
  });
}

function fail(message: string): number {
  console.error(message.startsWith('coord') ? message : `coord dev: ${message}`);
  return 1;
}
