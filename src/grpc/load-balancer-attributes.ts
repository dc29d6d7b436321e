// What the etcd resolver tells the balancers about each address. grpc-js endpoints carry only
// addresses, so the registry metadata travels beside them as a resolver attribute.
import * as grpc from '@grpc/grpc-js';
import type { ServiceInstance } from '../registry/instance.ts';

/** The registry facts about the instance behind an address that balancing decisions use. */
export interface InstanceInfo {
  id: string;
  /** `metadata.weight` when it is a positive number (or numeric string); otherwise 1. */
  weight: number;
  zone?: string;
  version?: string;
  metadata: Readonly<Record<string, string | number | boolean>>;
}

/**
 * Resolver attribute holding a `ReadonlyMap<address, InstanceInfo>` keyed by
 * `subchannelAddressToString(address)`. grpc-js hands resolver attributes to the balancers merged
 * into the channel options, and from there to subchannel creation; keys under
 * SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX are dropped before subchannel pooling, so a metadata change
 * never opens new connections.
 */
export const INSTANCES_ATTRIBUTE = `${grpc.experimental.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX}.coord.instances`;

export type InstanceMap = ReadonlyMap<string, InstanceInfo>;

export function instanceMapFrom(options: grpc.ChannelOptions): InstanceMap | undefined {
  const v: unknown = options[INSTANCES_ATTRIBUTE];
  return v instanceof Map ? (v as InstanceMap) : undefined;
}

/** The balancing facts of a registry record; `weight` falls back to 1 (with a reason) when unusable. */
export function instanceInfo(i: ServiceInstance): { info: InstanceInfo; badWeight?: string } {
  const metadata = i.metadata ?? {};
  const raw = metadata.weight;
  let weight = 1;
  let badWeight: string | undefined;
  if (raw !== undefined) {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (Number.isFinite(n) && n > 0) weight = n;
    else badWeight = `weight ${JSON.stringify(raw)} is not a positive number; using 1`;
  }
  const zone = metadata.zone;
  return {
    info: {
      id: i.id,
      weight,
      ...(zone === undefined ? {} : { zone: String(zone) }),
      ...(i.version === undefined ? {} : { version: i.version }),
      metadata,
    },
    ...(badWeight ? { badWeight } : {}),
  };
}
