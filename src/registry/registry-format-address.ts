import type { ServiceInstance } from './instance.ts';

/** `host:port` of the instance's first endpoint with the wanted scheme (else its first endpoint). */
export function hostPort(instance: ServiceInstance, scheme = 'grpc'): string | undefined {
  const pick = instance.endpoints.find((e) => e.startsWith(`${scheme}://`)) ?? instance.endpoints[0];
  if (!pick) return undefined;
  return pick.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '');
}
