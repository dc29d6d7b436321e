// The `etcd:` target syntax and what it selects from the registry.
//
//   etcd:///orders                          the Coord given to setup({ coord })
//   etcd://10.0.0.1:2379,10.0.0.2:2379/orders  a connection to those etcd endpoints (shared, ref-counted)
//   etcd:///orders?version=1.4.*&zone=a,b&meta.tier=gold&namespace=/prod/
//
// Query parameters (each a comma-separated any-of list; parameters combine with AND):
//   version    instance version; a trailing * matches a prefix (`1.4.*`)
//   zone       metadata.zone
//   meta.<k>   metadata.<k>, compared as strings
//   namespace  the coord namespace to read (default: the Coord's, `/coord/`)
//   format     read a Go framework's registry instead of coord's: grpc-go (the service is then the
//              naming/endpoints target and may contain '/': etcd:///svc/echo?format=grpc-go), kratos, go-zero
import * as grpc from '@grpc/grpc-js';
import { CoordError } from '../core/errors.ts';
import type { ServiceInstance } from '../registry/instance.ts';
import { registryFormat, type RegistryFormatName } from '../registry/registry-format.ts';

type GrpcUri = grpc.experimental.GrpcUri;
type SubchannelAddress = grpc.experimental.SubchannelAddress;

export interface InstanceFilter {
  versions?: string[];
  zones?: string[];
  metadata: Array<[key: string, values: string[]]>;
}

export interface EtcdTarget {
  service: string;
  /** etcd endpoints named in the authority; empty means the default Coord. */
  endpoints: string[];
  namespace?: string;
  /** A foreign registry format to read (`?format=`), when not coord's own. */
  format?: RegistryFormatName;
  filter: InstanceFilter;
  /** The filter as written, for messages (`version=1.4.*&zone=a`), or ''. */
  filterText: string;
}

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

export function parseEtcdTarget(uri: GrpcUri): EtcdTarget {
  const bad = (why: string) => new CoordError('invalid-argument', `invalid etcd target ${JSON.stringify(grpc.experimental.uriToString(uri))}: ${why}`);
  const q = uri.path.indexOf('?');
  const rawService = (q < 0 ? uri.path : uri.path.slice(0, q)).replace(/^\/+/, '');
  let service: string;
  try {
    service = decodeURIComponent(rawService);
  } catch {
    throw bad('service name is not valid percent-encoding');
  }
  const params = new URLSearchParams(q < 0 ? '' : uri.path.slice(q + 1));
  const formatName = params.get('format') ?? 'coord';
  let format: RegistryFormatName | undefined;
  if (formatName !== 'coord') {
    try {
      format = registryFormat(formatName).name;
    } catch (e) {
      throw bad((e as Error).message);
    }
  }
  // Foreign targets may be paths (grpc-go's endpoints targets often are); coord's names are not.
  if (!service || (!format && service.includes('/'))) throw bad('expected etcd:///<service> or etcd://<host:port,…>/<service>');
  const filter: InstanceFilter = { metadata: [] };
  let namespace: string | undefined;
  const described: string[] = [];
  for (const [key, value] of params) {
    if (key === 'namespace') {
      namespace = value.endsWith('/') ? value : `${value}/`;
      continue;
    }
    if (key === 'format') continue;
    const values = list(value);
    if (values.length === 0) throw bad(`${key} has no value`);
    if (key === 'version') filter.versions = values;
    else if (key === 'zone') filter.zones = values;
    else if (key.startsWith('meta.') && key.length > 5) filter.metadata.push([key.slice(5), values]);
    else throw bad(`unknown parameter ${JSON.stringify(key)} (version, zone, meta.<key>, namespace, format)`);
    described.push(`${key}=${values.join(',')}`);
  }
  const endpoints = uri.authority ? list(uri.authority) : [];
  for (const e of endpoints) if (!grpc.experimental.splitHostPort(e)?.port) throw bad(`etcd endpoint ${JSON.stringify(e)} is not host:port`);
  return { service, endpoints, ...(namespace ? { namespace } : {}), ...(format ? { format } : {}), filter, filterText: described.join('&') };
}

function versionMatches(pattern: string, version: string | undefined): boolean {
  if (version === undefined) return false;
  return pattern.endsWith('*') ? version.startsWith(pattern.slice(0, -1)) : version === pattern;
}

export function matchesFilter(f: InstanceFilter, i: ServiceInstance): boolean {
  if (f.versions && !f.versions.some((p) => versionMatches(p, i.version))) return false;
  const md = i.metadata ?? {};
  if (f.zones && !(md.zone !== undefined && f.zones.includes(String(md.zone)))) return false;
  for (const [k, values] of f.metadata) if (!(md[k] !== undefined && values.includes(String(md[k])))) return false;
  return true;
}

/** The TCP address of a `grpc://host:port` (or `grpcs://`) registry endpoint; undefined for other schemes. */
export function grpcAddress(endpoint: string): SubchannelAddress | undefined {
  const m = /^grpcs?:\/\/([^/?#]+)\/?$/.exec(endpoint);
  if (!m) return undefined;
  const hp = grpc.experimental.splitHostPort(m[1]);
  if (!hp || hp.port === undefined || !hp.host || hp.port <= 0 || hp.port > 65535) return undefined;
  return { host: hp.host, port: hp.port };
}
