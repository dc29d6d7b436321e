// Starts the shop's five processes (what `coord dev --demo` runs): each its own Node process,
// logging to <logDir>/<id>.log, registered in the store at `endpoints`. close() sends SIGTERM so
// every instance drains and deregisters; they run in their own process groups, so a Ctrl-C in the
// terminal reaches only `coord dev`, which then stops them in order.
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
] as const;

export interface ShopOptions {
  /** The store (or etcd) the services register in. */
  endpoints: string;
  /** Default `/coord/`. */
  namespace?: string;
  /** Where each instance writes its log, `<id>.log`. */
  logDir: string;
  /** How long to wait for every instance to be serving. Default 60 s (cold start of five processes on a busy machine). */
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
  readonly instances: ShopInstance[];
  /** SIGTERMs every instance still running and waits for it to drain and deregister (SIGKILL after 20 s). */
  close(): Promise<void>;
}

interface Child {
  spec: (typeof SHOP_INSTANCES)[number];
  process: ChildProcess;
  logFile: string;
  exited: Promise<void>;
  listening: Promise<ShopInstance>;
}

export async function startShop(options: ShopOptions): Promise<Shop> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  mkdirSync(options.logDir, { recursive: true });
  let closing = false;
  const children: Child[] = SHOP_INSTANCES.map((spec) => {
    const logFile = join(options.logDir, `${spec.id}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, [...NODE_ARGS, new URL(`./${spec.service}${EXT}`, import.meta.url).pathname], {
      detached: true,
      stdio: ['pipe', 'pipe', fd],
      env: { ...process.env, COORD_ENDPOINTS: options.endpoints, COORD_NAMESPACE: options.namespace ?? '/coord/', SHOP_ID: spec.id, SHOP_ZONE: spec.zone, SHOP_STDIN_LIFELINE: '1' },
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
          return;
        }
        if (event.event === 'listening') resolve({ service: spec.service, id: spec.id, pid: child.pid!, endpoint: event.endpoint!, logFile });
      });
      void exited.then(() => reject(new Error(`${spec.id} exited before serving:\n${tail(logFile)}`)));
    });
    listening.catch(() => {});
    return { spec, process: child, logFile, exited, listening };
  });

  const close = async () => {
    closing = true;
    const running = children.filter((c) => c.process.exitCode === null && c.process.signalCode === null);
    for (const c of running) c.process.kill('SIGTERM');
    const forced = setTimeout(() => running.forEach((c) => c.process.kill('SIGKILL')), 20_000);
    await Promise.all(running.map((c) => c.exited));
    clearTimeout(forced);
  };

  const timeoutMs = options.startTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const instances = await Promise.race([
      Promise.all(children.map((c) => c.listening)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the shop services were not all serving within ${timeoutMs} ms (logs in ${options.logDir})`)), timeoutMs);
      }),
    ]);
    return { instances, close };
  } catch (e) {
    await close();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}
