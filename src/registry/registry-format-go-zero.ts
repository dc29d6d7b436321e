import type { ServiceInstance } from './instance.ts';
import { hostPort } from './registry-format-address.ts';
import type { RegistryFormat } from './registry-format-spec.ts';

/**
 * go-zero's discov (core/discov/publisher.go `register` + `makeEtcdKey`): key
 * `<key>/<lease id in decimal>`, value the plain `host:port` — no metadata at all. coord uses the
 * service name as go-zero's key.
 */
export const goZeroFormat: RegistryFormat = {
  name: 'go-zero',
  prefix: (service) => `${service}/`,
  key: (instance, leaseId) => `${instance.name}/${leaseId}`,
  value(instance) {
    return hostPort(instance, 'grpc') ?? '';
  },
  decode(service, key, value) {
    const addr = value.toString();
    if (!/^[^\s/]+:\d{1,5}$/.test(addr)) return `value ${JSON.stringify(addr.slice(0, 80))} is not host:port`;
    const id = key.slice(key.lastIndexOf('/') + 1);
    if (!/^\d+$/.test(id)) return 'key does not end in a decimal lease id';
    const inst: ServiceInstance = { id, name: service, endpoints: [`grpc://${addr}`], metadata: {}, status: 'serving' };
    return inst;
  },
};
