// Starts the shop's processes (what `coord dev --demo` runs): each its own Node process, logging
// to <logDir>/<id>.log, registered in the store at `endpoints`, with its business data in the
// PostgreSQL database at `databaseUrl` and its events on NATS JetStream (`natsUrl`) or, without
// one, the embedded etcd engine. close() sends SIGTERM so every instance drains and deregisters;
// they run in their own process groups, so a Ctrl-C in the terminal reaches only `coord dev`,
// which then stops them in order. restart(id) starts an instance again after it was killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// Compiled (the npm package, dist/examples/shop/) each service is plain JavaScript; from a clone it
// is TypeScript run through tsx, and `coord` resolves to the sources (scripts/run-source.mjs).
const COMPILED = import.meta.url.endsWith('.js');
const EXT = COMPILED ? '.js' : '.ts';
const NODE_ARGS = COMPILED ? [] : ['--import', new URL('../../scripts/run-source.mjs', import.meta.url).pathname];

/** The demo's instances: service, instance id, zone. */
export const SHOP_INSTANCES = [
  { service: 'user-service', id: 'user-service-1', zone: 'a' },
  { service: 'inventory-service', id: 'inventory-service-1', zone: 'a' },
  { service: 'inventory-service', id: 'inventory-service-2', zone: 'b' },
  { service: 'order-service', id: 'order-service-1', zone: 'a' },
  { service: 'order-service', id: 'order-service-2', zone: 'b' },
  { service: 'payment-service', id: 'payment-service-1', zone: 'a' },
  { service: 'payment-service', id: 'payment-service-2', zone: 'b' },
  { service: 'notification-service', id: 'notification-service-1', zone: 'a' },
] as const;

export interface ShopOptions {
  /** The store (or etcd) the services register in. */
  endpoints: string;
  /** Default `/coord/`. */
  namespace?: string;
  /** The shop's PostgreSQL database (postgres://…): orders, stock, payments, notifications and the outboxes. Required. */
  databaseUrl: string;
  /** NATS server(s) with JetStream, e.g. `127.0.0.1:4222`: the events engine. Default: the embedded etcd engine (events in the store). */
  natsUrl?: string;
  /** Where each instance writes its log, `<id>.log`. */
  logDir: string;
  /** How long to wait for every instance to be serving. Default 60 s (cold start of eight processes on a busy machine). */
  startTimeoutMs?: number;
  /** One line per notable event (an instance exiting on its own). Default: stderr. */
  log?: (line: string) => void;
}

export interface ShopInstance {
  service: string;
  id: string;
  pid: number;
  endpoint: string;
  logFile: string;
}

export interface Shop {
  /** The instances as last started (restart() replaces an entry). */
  readonly instances: ShopInstance[];
  /** Starts instance `id` again (after it was killed or exited) and resolves once it serves. */
  restart(id: string): Promise<ShopInstance>;
  /** SIGTERMs every instance still running and waits for it to drain and deregister (SIGKILL after 20 s). */
  close(): Promise<void>;
}

interface Child {
  spec: (typeof SHOP_INSTANCES)[number];
  process: ChildProcess;
  exited: Promise<void>;
  listening: Promise<ShopInstance>;
}

export async function startShop(options: ShopOptions): Promise<Shop> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (!options.databaseUrl) throw new Error('the shop needs a database: pass databaseUrl (postgres://…)');
  // One clear line when the database is not there, before eight processes each fail on it.
  // Loaded here: `coord` imports this module for every command, and only the shop needs pg.
  const { checkDatabase } = await import('./lib/db.ts');
  await checkDatabase(options.databaseUrl);
  mkdirSync(options.logDir, { recursive: true });
  let closing = false;

  const launch = (spec: (typeof SHOP_INSTANCES)[number]): Child => {
    const logFile = join(options.logDir, `${spec.id}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, [...NODE_ARGS, new URL(`./${spec.service}${EXT}`, import.meta.url).pathname], {
      detached: true,
      stdio: ['pipe', 'pipe', fd],
      env: {
        ...process.env,
        NATS_URL: options.natsUrl ?? '',
        COORD_ENDPOINTS: options.endpoints,
        COORD_NAMESPACE: options.namespace ?? '/coord/',
        DATABASE_URL: options.databaseUrl,
        SHOP_ID: spec.id,
        SHOP_ZONE: spec.zone,
        SHOP_STDIN_LIFELINE: '1',
      },
    });
    closeSync(fd);
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        if (!closing) log(`${spec.id} (pid ${child.pid}) exited ${signal ? `on ${signal}` : `with code ${code}`}; log: ${logFile}`);
        resolve();
      }),
    );
    const listening = new Promise<ShopInstance>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let event: { event?: string; endpoint?: string };
        try {
          event = JSON.parse(line);
        } catch {
          return; // not one of our JSON lines
        }
        if (event.event === 'listening') resolve({ service: spec.service, id: spec.id, pid: child.pid!, endpoint: event.endpoint!, logFile });
      });
      void exited.then(() => reject(new Error(`${spec.id} exited before serving:\n${tail(logFile)}`)));
    });
    listening.catch(() => {}); // awaited by startShop / restart, which report it
    return { spec, process: child, exited, listening };
  };

  const children = new Map<string, Child>(SHOP_INSTANCES.map((spec) => [spec.id, launch(spec)]));
  const running = (c: Child) => c.process.exitCode === null && c.process.signalCode === null;

  const close = async () => {
    closing = true;
    const alive = [...children.values()].filter(running);
    for (const c of alive) c.process.kill('SIGTERM');
    const forced = setTimeout(() => alive.forEach((c) => c.process.kill('SIGKILL')), 20_000);
    await Promise.all(alive.map((c) => c.exited));
    clearTimeout(forced);
  };

  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const within = <T>(p: Promise<T>, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} within ${timeoutMs} ms (logs in ${options.logDir})`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  };

  let instances: ShopInstance[];
  try {
    instances = await within(Promise.all([...children.values()].map((c) => c.listening)), 'the shop services were not all serving');
  } catch (e) {
    await close();
    throw e;
  }
  return {
    instances,
    async restart(id) {
      const old = children.get(id);
      if (!old) throw new Error(`no shop instance ${JSON.stringify(id)} (instances: ${[...children.keys()].join(', ')})`);
      if (closing) throw new Error('the shop is closing');
      if (running(old)) throw new Error(`${id} (pid ${old.process.pid}) is still running; kill it first`);
      await old.exited;
      const child = launch(old.spec);
      children.set(id, child);
      const instance = await within(child.listening, `${id} was not serving again`);
      instances[instances.findIndex((i) => i.id === id)] = instance;
      return instance;
    },
    close,
  };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}
