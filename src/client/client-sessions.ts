import type { EtcdClient } from './etcd-client.ts';
import { SessionSupervisor } from './session.ts';

/** Options for a client's shared sessions. */
export interface ClientSessionsOptions {
  /** Receives the sessions' log lines (lease lost, re-acquired, grant failures). Default: none. */
  log?: (line: string) => void;
}

/**
 * The supervised sessions one client shares between its registrations, locks, permits and
 * candidacies, as Go code shares one `concurrency.Session`: one lease per TTL in use (most clients
 * use one TTL, so one lease), one keepalive each on the client's one LeaseKeepAlive stream. A
 * supervisor is created on first use and lives until the client closes.
 */
export class ClientSessions {
  private readonly supervisors = new Map<number, SessionSupervisor>();
  private closed = false;

  constructor(
    private readonly client: EtcdClient,
    private readonly options: ClientSessionsOptions = {},
  ) {}

  /** The shared supervisor for leases of `ttl` seconds. */
  supervisor(ttl: number): SessionSupervisor {
    let s = this.supervisors.get(ttl);
    if (!s) {
      s = new SessionSupervisor(this.client, { ttl, log: this.options.log && ((line) => this.options.log!(`session (ttl ${ttl}s): ${line}`)) });
      if (this.closed) void s.close();
      this.supervisors.set(ttl, s);
    }
    return s;
  }

  /** The shared supervisors created so far. */
  all(): SessionSupervisor[] {
    return [...this.supervisors.values()];
  }

  /** Revokes every shared lease (the keys on them go too) and stops re-acquiring. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.all().map((s) => s.close()));
  }
}

const byClient = new WeakMap<EtcdClient, ClientSessions>();

/** The shared sessions of `client` (one set per client); `options` apply when it is created. */
export function clientSessions(client: EtcdClient, options: ClientSessionsOptions = {}): ClientSessions {
  let s = byClient.get(client);
  if (!s) byClient.set(client, (s = new ClientSessions(client, options)));
  return s;
}

/**
 * Revokes the shared leases of `client`, if it has any, giving up after `boundMs` (etcd may be
 * unreachable; the leases then expire by themselves within their TTL).
 */
export async function closeClientSessions(client: EtcdClient, boundMs: number): Promise<void> {
  const s = byClient.get(client);
  if (!s) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([s.close(), new Promise<void>((resolve) => (timer = setTimeout(resolve, boundMs)))]);
  clearTimeout(timer);
}
