import * as grpc from '@grpc/grpc-js';
import type { EtcdClient } from '../client/etcd-client.ts';
import { fromGrpcError } from '../client/errors-grpc.ts';
import { tlsCredentials } from '../client/tls-names.ts';
import { etcdProto } from '../protocol/etcd-proto.ts';
import type { MemberView } from './api-types.ts';

export interface ClusterInfoOptions {
  /** The coord client: member list, lease list and call metadata (etcd's auth token) come from it. */
  client: EtcdClient;
  /** TLS material for the member connections; plaintext unless given or an endpoint is `https://`. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Deadline of one call. Default 3000 ms. */
  timeoutMs?: number;
}

interface StatusMsg {
  version: string;
  dbSize: string;
  raftTerm: string;
  header: { revision: string };
}

const hostOf = (url: string) => url.replace(/^[a-z]+:\/\//, '').replace(/\/$/, '');

/**
 * The cluster-wide reads for the overview: the member list and lease count through the coord
 * client, and every member's own status, asked at its advertised client URL the way
 * `etcdctl endpoint status --cluster` does (the client's channel picks any member, so this needs a
 * connection per member); a member that does not answer is reported, not fatal.
 */
export class ClusterInfo {
  private readonly maintenance = new Map<string, grpc.Client>();
  private readonly secure: boolean;
  private readonly timeoutMs: number;

  constructor(private readonly options: ClusterInfoOptions) {
    const secure = options.tls || options.client.endpoints.some((e) => e.startsWith('https://'));
    this.secure = !!secure;
    this.timeoutMs = options.timeoutMs ?? 3000;
  }

  private async memberStatus(host: string): Promise<StatusMsg> {
    let client = this.maintenance.get(host);
    if (!client) {
      const tls = this.secure ? tlsCredentials([host], this.options.tls) : undefined;
      client = new (etcdProto().Maintenance)(host, tls?.creds ?? grpc.credentials.createInsecure(), tls?.options ?? {});
      this.maintenance.set(host, client);
    }
    const md = await this.options.client.metadata();
    return new Promise<StatusMsg>((resolve, reject) => {
      const fn = (client as unknown as Record<string, Function>).Status;
      fn.call(client, {}, md, { deadline: Date.now() + this.timeoutMs }, (err: grpc.ServiceError | null, res: StatusMsg) =>
        err ? reject(fromGrpcError(err, `etcd Status at ${host}`)) : resolve(res),
      );
    });
  }

  /** Members with their own status; `leader` marks the member id the cluster reports as leader. */
  async members(leader: string): Promise<MemberView[]> {
    const list = await this.options.client.memberList({ timeoutMs: this.timeoutMs });
    return Promise.all(
      list.map(async (m): Promise<MemberView> => {
        const view: MemberView = { id: m.id, name: m.name, clientUrls: m.clientUrls, peerUrls: m.peerUrls, isLeader: m.id === leader, isLearner: m.isLearner };
        const url = m.clientUrls[0];
        if (!url) return { ...view, error: 'no client URL advertised' };
        try {
          const s = await this.memberStatus(hostOf(url));
          return { ...view, status: { version: s.version, dbSize: Number(s.dbSize), revision: Number(s.header.revision), raftTerm: Number(s.raftTerm) } };
        } catch (e) {
          return { ...view, error: (e as Error).message };
        }
      }),
    );
  }

  /** How many leases the cluster has granted and not yet expired or revoked (all namespaces). */
  async leaseCount(): Promise<number> {
    return (await this.options.client.leaseLeases({ timeoutMs: this.timeoutMs })).length;
  }

  close(): void {
    for (const c of this.maintenance.values()) c.close();
    this.maintenance.clear();
  }
}
