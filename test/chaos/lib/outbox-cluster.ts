// Everything the outbox chaos run kills and restarts: coord store (a process of its own, restarted
// on the same port and data dir), PostgreSQL, nats-server -js, and the shop's instances
// (examples/shop/launch.ts). Every target is killed with SIGKILL by pid and started again the same
// way it was first started.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startShop, SHOP_INSTANCES, type Shop } from '../../../examples/shop/launch.ts';
import { freePorts } from '../../helpers/etcd-cluster.ts';
import { startNats, type NatsProcess } from '../../helpers/nats-process.ts';
import { startPostgres, type PostgresProcess } from '../../helpers/postgres-process.ts';
import { startStoreProcess, type StoreProcess } from '../../helpers/store-process.ts';

/** What a fault can hit: a shop instance id, or one of the servers. */
export type Target = (typeof SHOP_INSTANCES)[number]['id'] | 'nats-server' | 'postgres' | 'store';

export interface OutboxCluster {
  readonly storeEndpoint: string;
  readonly databaseUrl: string;
  /** undefined: the shop uses the embedded etcd engine. */
  readonly natsUrl: string | undefined;
  readonly logDir: string;
  readonly targets: readonly Target[];
  /** The current pid of a target. */
  pid(target: Target): number;
  /** Whether the target's process is running. */
  alive(target: Target): boolean;
  /** Whether the target is a shop instance (the others are servers). */
  isInstance(target: Target): boolean;
  /** SIGKILL by pid; resolves once it is gone. */
  kill(target: Target): Promise<void>;
  /** Starts it again (same port, same data); resolves once it serves. */
  restart(target: Target): Promise<void>;
  /** Stops everything; removes the data and, unless `keepLogs`, the shop's logs. */
  close(keepLogs?: boolean): Promise<void>;
}

export interface ClusterOptions {
  /** Run the shop's events on NATS JetStream (default) or on the embedded etcd engine in the store. */
  engine: 'nats' | 'etcd';
  log: (line: string) => void;
}

export async function startOutboxCluster(options: ClusterOptions): Promise<OutboxCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'coord-chaos-outbox-'));
  const [storePort] = await freePorts(1);
  const storeArgs = ['--listen', `127.0.0.1:${storePort}`, '--data-dir', join(dir, 'store')];
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async (keepLogs = false) => {
    for (const c of cleanups.reverse()) await c().catch((e: Error) => options.log(`cleanup: ${e.message}`));
    if (keepLogs) rmSync(join(dir, 'store'), { recursive: true, force: true });
    else rmSync(dir, { recursive: true, force: true });
  };
  try {
    let store: StoreProcess = await startStoreProcess(storeArgs);
    cleanups.push(() => store.kill());
    const postgres: PostgresProcess = await startPostgres();
    cleanups.push(() => postgres.stop());
    let nats: NatsProcess | undefined;
    if (options.engine === 'nats') {
      nats = await startNats();
      const n = nats;
      cleanups.push(() => n.stop());
    }
    const logDir = join(dir, 'logs');
    const shop: Shop = await startShop({ endpoints: store.endpoint, databaseUrl: postgres.url, natsUrl: nats?.endpoint, logDir, startTimeoutMs: 120_000, log: options.log });
    cleanups.push(() => shop.close());
    const instance = (id: string) => {
      const i = shop.instances.find((x) => x.id === id);
      if (!i) throw new Error(`no target ${id}`);
      return i;
    };
    const pidOf = (target: Target) => {
      if (target === 'store') return store.pid;
      if (target === 'postgres') return postgres.pid;
      if (target === 'nats-server') return nats!.pid;
      return instance(target).pid;
    };
    const targets: Target[] = [...SHOP_INSTANCES.map((i) => i.id), ...(nats ? (['nats-server'] as const) : []), 'postgres', 'store'];
    return {
      storeEndpoint: store.endpoint,
      databaseUrl: postgres.url,
      natsUrl: nats?.endpoint,
      logDir,
      targets,
      pid: pidOf,
      alive(target) {
        try {
          process.kill(pidOf(target), 0);
          return true;
        } catch {
          return false;
        }
      },
      isInstance: (target) => SHOP_INSTANCES.some((i) => i.id === target),
      async kill(target) {
        if (target === 'store') await store.kill('SIGKILL');
        else if (target === 'postgres') {
          // The whole server crashes: the postmaster and its backends (left alive they would hold its shared memory and block the restart).
          const backends = childrenOf(postgres.pid);
          await postgres.kill('SIGKILL');
          await Promise.all(backends.map(killPid));
        }
        else if (target === 'nats-server') await nats!.kill('SIGKILL');
        else await killPid(instance(target).pid);
      },
      async restart(target) {
        if (target === 'store') store = await startStoreProcess(storeArgs, 60_000);
        else if (target === 'postgres') await postgres.restart();
        else if (target === 'nats-server') await nats!.restart();
        else await shop.restart(target);
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** SIGKILL and wait until the pid is gone (the shop's own exit listener reaps it). */
async function killPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return; // already gone
  }
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Child pids of `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
