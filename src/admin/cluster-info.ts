import * as grpc from '@grpc/grpc-js';
import { fromGrpcError } from '../client/errors-grpc.ts';
import { etcdProto } from '../protocol/etcd-proto.ts';
import type { MemberView } from './api-types.ts';

export interface ClusterInfoOptions {
  endpoints: string[];
  /** TLS material for the member connections; plaintext unless given or an endpoint is `https://`. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Call metadata (etcd's auth token), from the coord client. */
  metadata: () => Promise<grpc.Metadata>;
  /** Deadline of one call. Default 3000 ms. */
  timeoutMs?: number;
}

interface MemberMsg {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

interface StatusMsg {
  version: string;
  dbSize: string;
  leader: string;
  raftTerm: string;
  header: { revision: string; member_id: string };
}

const hostOf = (url: string) => url.replace(/^[a-z]+:\/\//, '').replace(/\/$/, '');

/**
 * The cluster-wide reads the coord client does not offer: the member list, every member's own
 * status, and the lease list. Each member is asked at its advertised client URL, the way
 * `etcdctl endpoint status --cluster` does; a member that does not answer is reported, not fatal.
 */
export class ClusterInfo {
  private readonly clients = new Map<string, { cluster: grpc.Client; lease: grpc.Client; maintenance: grpc.Client }>();
  private readonly creds: grpc.ChannelCredentials;
  private readonly timeoutMs: number;

  constructor(private readonly options: ClusterInfoOptions) {
    const secure = options.tls || options.endpoints.some((e) => e.startsWith('https://'));
    this.creds = secure ? grpc.credentials.createSsl(options.tls?.ca ?? null, options.tls?.key ?? null, options.tls?.cert ?? null) : grpc.credentials.createInsecure();
    this.timeoutMs = options.timeoutMs ?? 3000;
  }

  private client(host: string) {
    let c = this.clients.get(host);
    if (!c) {
      const proto = etcdProto();
      const cluster = new proto.Cluster(host, this.creds);
      const shared = { channelOverride: cluster.getChannel() as grpc.Channel };
      c = { cluster, lease: new proto.Lease(host, this.creds, shared), maintenance: new proto.Maintenance(host, this.creds, shared) };
      this.clients.set(host, c);
    }
    return c;
  }

  private async call<T>(host: string, which: 'cluster' | 'lease' | 'maintenance', method: string, req: unknown): Promise<T> {
    const client = this.client(host)[which];
    const md = await this.options.metadata();
    return new Promise<T>((resolve, reject) => {
      const fn = (client as unknown as Record<string, Function>)[method];
      fn.call(client, req, md, { deadline: Date.now() + this.timeoutMs }, (err: grpc.ServiceError | null, res: T) =>
        err ? reject(fromGrpcError(err, `etcd ${method} at ${host}`)) : resolve(res),
      );
    });
  }

  /** Tries each configured endpoint in turn; the last failure when none answers. */
  private async any<T>(which: 'cluster' | 'lease', method: string, req: unknown): Promise<T> {
    let last: unknown;
    for (const e of this.options.endpoints) {
      try {
        return await this.call<T>(hostOf(e), which, method, req);
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }

  /** Members with their own status; `leader` marks the member id the cluster reports as leader. */
  async members(leader: string): Promise<MemberView[]> {
    const r = await this.any<{ members: MemberMsg[] }>('cluster', 'MemberList', {});
    return Promise.all(
      r.members.map(async (m): Promise<MemberView> => {
        const view: MemberView = { id: m.ID, name: m.name, clientUrls: m.clientURLs, peerUrls: m.peerURLs, isLeader: m.ID === leader, isLearner: m.isLearner };
        const url = m.clientURLs[0];
        if (!url) return { ...view, error: 'no client URL advertised' };
        try {
          const s = await this.call<StatusMsg>(hostOf(url), 'maintenance', 'Status', {});
          return { ...view, status: { version: s.version, dbSize: Number(s.dbSize), revision: Number(s.header.revision), raftTerm: Number(s.raftTerm) } };
        } catch (e) {
          return { ...view, error: (e as Error).message };
        }
      }),
    );
  }

  /** How many leases the cluster has granted and not yet expired or revoked (all namespaces). */
  async leaseCount(): Promise<number> {
    const r = await this.any<{ leases: unknown[] }>('lease', 'LeaseLeases', {});
    return r.leases.length;
  }

  close(): void {
    for (const c of this.clients.values()) c.cluster.close();
    this.clients.clear();
  }
}
