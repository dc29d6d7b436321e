// Services published in a Go framework's registry layout (grpc-go's etcd naming/endpoints, Kratos'
// etcd registry, go-zero's discov), listed by the admin API beside coord's own. Their keys live
// outside coord's namespace, and grpc-go's and go-zero's have no fixed prefix, so the admin server
// reads them (at each request, not from the namespace watch) from three places:
//   1. the (format, target) pairs AdminOptions.foreignServices names;
//   2. Kratos' namespace (`/microservices/<name>/<id>`, AdminOptions.kratosNamespace);
//   3. beside each coord service `<name>`: the `<name>/` prefix, where register({ formats }) puts its
//      grpc-go (`<name>/<host:port>`) and go-zero (`<name>/<lease>`) keys. A format is listed there
//      only when at least one of its records is under the lease of a coord instance of `<name>`
//      (coord published it), and then with every record of that format under the prefix (the Go
//      instances of the same target too), since that is what a Go client of the target sees.
import { op, type EtcdClient, type KeyValue } from '../client/etcd-client.ts';
import type { ServiceInstance } from '../registry/instance.ts';
import { registryFormat, type RegistryFormat, type RegistryFormatName } from '../registry/registry-format.ts';
import { goZeroFormat } from '../registry/registry-format-go-zero.ts';
import { grpcGoFormat } from '../registry/registry-format-grpc-go.ts';
import { kratosFormat, kratosNamespace } from '../registry/registry-format-kratos.ts';
import type { InstanceMetrics, InstanceView } from './api-types.ts';
import { leaseHex } from './kv-decode.ts';
import { instanceView } from './instance-view.ts';

/** A foreign-format service for the admin server to list (AdminOptions.foreignServices). */
export interface ForeignServiceSource {
  format: RegistryFormatName;
  /**
   * grpc-go: the endpoints target (`svc/echo`, records at `svc/echo/<host:port>`); go-zero: the
   * discov key (records at `<key>/<lease id>`); kratos: the service name (under `/microservices/`).
   */
  target: string;
}

/** A coord instance record (from the namespace mirror): its lease ties foreign records to it. */
export interface CoordRecord {
  service: string;
  id: string;
  /** Decimal lease id, `0` for none. */
  lease: string;
}

/** The records of one foreign-format service. */
export interface ForeignService {
  format: RegistryFormatName;
  name: string;
  prefix: string;
  instances: InstanceView[];
}

/** Records read per prefix at most (a prefix beside a coord service may hold unrelated keys). */
const MAX_KEYS = 1000;
/** Range operations per txn (etcd refuses more than --max-txn-ops, default 128). */
const OPS_PER_TXN = 64;

export class ForeignServices {
  /** First time each record (key at its create revision) was read: its `registeredSince`. */
  private seen = new Map<string, string>();
  private readonly sources: ForeignServiceSource[];
  private readonly kratosPrefix: string | undefined;

  constructor(
    private readonly client: EtcdClient,
    options: { sources?: ForeignServiceSource[]; kratosNamespace?: string | false },
    private readonly metrics: (instance: ServiceInstance) => InstanceMetrics | null,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.sources = (options.sources ?? []).map((s) => {
      registryFormat(s.format); // an unknown name is an invalid-argument error at startAdmin()
      return { format: s.format, target: s.target.replace(/\/+$/, '') };
    });
    const ns = options.kratosNamespace === undefined ? kratosNamespace : options.kratosNamespace;
    this.kratosPrefix = ns === false ? undefined : `${ns.replace(/\/+$/, '')}/`;
  }

  private lastLogged: string | undefined;

  /** Logs a failure to read the foreign records, once until a different one. */
  logOnce(line: string): void {
    if (line === this.lastLogged) return;
    this.lastLogged = line;
    this.log(`admin: ${line}`);
  }

  /** Every foreign-format service found, sorted by format and name; instances sorted by key. */
  async list(coord: CoordRecord[]): Promise<ForeignService[]> {
    const byLease = new Map(coord.filter((c) => c.lease !== '0').map((c) => [c.lease, c]));
    const groups = new Map<string, { format: RegistryFormatName; name: string; prefix: string; records: Map<string, InstanceView> }>();
    const group = (format: RegistryFormatName, name: string, prefix: string) => {
      const id = `${format} ${name}`;
      let g = groups.get(id);
      if (!g) groups.set(id, (g = { format, name, prefix, records: new Map() }));
      return g;
    };
    const seenNow = new Map<string, string>();
    const now = new Date().toISOString();
    const view = (f: RegistryFormat, service: string, kv: KeyValue, decoded: ServiceInstance | string): InstanceView => {
      const first = `${kv.key}@${kv.createRevision}`;
      const at = this.seen.get(first) ?? seenNow.get(first) ?? now;
      seenNow.set(first, at);
      const owner = byLease.get(kv.lease);
      const record = {
        key: kv.key,
        lease: leaseHex(kv.lease),
        createRevision: kv.createRevision,
        modRevision: kv.modRevision,
        // The admin server does not watch foreign keys: "at least since" the first read that found it.
        registeredSince: { at, exact: false },
        ...(owner ? { publishedBy: `${owner.service}/${owner.id}` } : {}),
      };
      // Go registries have no draining state: their decoders say 'serving'.
      return instanceView(record, service, typeof decoded === 'string' ? `${f.name} record: ${decoded}` : decoded, this.metrics);
    };

    // Each prefix is read once; every scan interested in it gets its records.
    const readers = new Map<string, Array<(kvs: KeyValue[]) => void>>();
    const scan = (prefix: string, read: (kvs: KeyValue[]) => void) => {
      if (!readers.has(prefix)) readers.set(prefix, []);
      readers.get(prefix)!.push(read);
    };
    for (const s of this.sources) {
      const f = registryFormat(s.format);
      const prefix = f.prefix(s.target);
      scan(prefix, (kvs) => {
        const g = group(f.name, s.target, prefix);
        for (const kv of kvs) g.records.set(kv.key, view(f, s.target, kv, f.decode(s.target, kv.key, kv.value)));
      });
    }
    if (this.kratosPrefix) {
      const prefix = this.kratosPrefix;
      scan(prefix, (kvs) => {
        for (const kv of kvs) {
          const rel = kv.key.slice(prefix.length).split('/');
          if (rel.length !== 2 || !rel[0] || !rel[1]) continue; // not `<name>/<id>`: not a Kratos record
          group('kratos', rel[0], `${prefix}${rel[0]}/`).records.set(kv.key, view(kratosFormat, rel[0], kv, kratosFormat.decode(rel[0], kv.key, kv.value)));
        }
      });
    }
    for (const name of new Set(coord.map((c) => c.service))) {
      const prefix = `${name}/`;
      scan(prefix, (kvs) => {
        for (const f of [grpcGoFormat, goZeroFormat]) {
          // Records of other layouts (or unrelated keys) under the prefix are not this format's.
          const ok = kvs.flatMap((kv) => {
            const d = f.decode(name, kv.key, kv.value);
            return typeof d === 'string' ? [] : [{ kv, d }];
          });
          if (!ok.some(({ kv }) => byLease.get(kv.lease)?.service === name)) continue;
          const g = group(f.name, name, prefix);
          for (const { kv, d } of ok) g.records.set(kv.key, view(f, name, kv, d));
        }
      });
    }

    const prefixes = [...readers.keys()];
    for (let i = 0; i < prefixes.length; i += OPS_PER_TXN) {
      const chunk = prefixes.slice(i, i + OPS_PER_TXN);
      const r = await this.client.txn({ success: chunk.map((p) => op.get(p, { prefix: true, limit: MAX_KEYS })) });
      chunk.forEach((p, j) => {
        for (const read of readers.get(p)!) read(r.responses[j]?.kvs ?? []);
      });
    }
    this.seen = seenNow;
    this.lastLogged = undefined;

    return [...groups.values()]
      .filter((g) => g.records.size > 0)
      .sort((a, b) => (a.format === b.format ? cmp(a.name, b.name) : cmp(a.format, b.format)))
      .map((g) => ({ format: g.format, name: g.name, prefix: g.prefix, instances: [...g.records.values()].sort((a, b) => cmp(a.key, b.key)) }));
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
