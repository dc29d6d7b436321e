// The interchangeable servers the conformance suite runs against: a real etcd (the reference)
// and coord store (the implementation under test). Each suite file does
// `for (const b of backends()) describe(b.name, { skip: b.skip }, ...)`.
import { startStore } from '../../src/store/index.ts';
import { requireEtcd, startEtcd } from './etcd-process.ts';

export interface BackendOptions {
  /**
   * Period of server-initiated progress notifications for watchers created with
   * `progress_notify`. etcd: `--experimental-watch-progress-notify-interval` (default 10 min);
   * coord store: `progressNotifyIntervalMs`.
   */
  watchProgressNotifyIntervalMs?: number;
  /** Idle lifetime of auth tokens, seconds. etcd: `--auth-token-ttl`; coord store: `authTokenTtlMs`. */
  authTokenTtlSeconds?: number;
  /** Most operations in one txn. etcd: `--max-txn-ops`; coord store: `maxTxnOps` (both default 128). */
  maxTxnOps?: number;
}

export interface RunningBackend {
  /** `host:port` for gRPC clients. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

export interface Backend {
  readonly name: 'etcd' | 'coord store';
  /** A reason to skip this backend's suite (node:test `skip` option), or undefined to run it. */
  readonly skip: string | undefined;
  start(options?: BackendOptions): Promise<RunningBackend>;
}

export function backends(): Backend[] {
  return [
    {
      name: 'etcd',
      skip: requireEtcd(),
      async start(options = {}) {
        const etcd = await startEtcd({ watchProgressNotifyIntervalMs: options.watchProgressNotifyIntervalMs, authTokenTtlSeconds: options.authTokenTtlSeconds, maxTxnOps: options.maxTxnOps });
        return { endpoint: etcd.endpoint, stop: () => etcd.stop() };
      },
    },
    {
      name: 'coord store',
      skip: undefined,
      async start(options = {}) {
        const { watchProgressNotifyIntervalMs: interval } = options;
        const store = await startStore({
          listen: '127.0.0.1:0',
          // Left out when unset, so a `{ ...defaults, ...options }` merge keeps the default.
          ...(interval === undefined ? {} : { progressNotifyIntervalMs: interval }),
          ...(options.authTokenTtlSeconds === undefined ? {} : { authTokenTtlMs: options.authTokenTtlSeconds * 1000 }),
          ...(options.maxTxnOps === undefined ? {} : { maxTxnOps: options.maxTxnOps }),
        });
        return { endpoint: store.endpoint, stop: () => store.close() };
      },
    },
  ];
}
