// client(): a generated gRPC client on a coord target, typed as the generator's client class, with
// the service config built by serviceConfig() (validated, coord's policy union) instead of a JSON
// string option.
import * as grpc from '@grpc/grpc-js';
import { CoordError } from '../core/errors.ts';
import { serviceConfig, type ServiceConfigOptions } from './service-config.ts';
import type { ServiceClientConstructor } from './service-types.ts';

/** Options for `client()`; defaults in each field's doc. The other fields are grpc-js client and channel options. */
export interface ClientOptions extends grpc.ClientOptions {
  /** Channel credentials. Default insecure. */
  credentials?: grpc.ChannelCredentials;
  /**
   * The channel's service config, built with serviceConfig(). Default none: an `etcd:` target then
   * gets coord's default (p2c_ewma under outlier detection). Replaces a `grpc.service_config` option.
   */
  serviceConfig?: ServiceConfigOptions;
}

/**
 * A client of the generated class `Client` (proto-loader-gen-types' `proto.pkg.Service`, ts-proto's
 * `ServiceClient`, or grpc-js's untyped constructor) on `target`, e.g. `etcd:///orders`. Call
 * setup() first for `etcd:` targets.
 *
 * ```ts
 * const orders = client(proto.shop.v1.OrderService, 'etcd:///order-service', { serviceConfig: { policy: { least_request: {} } } });
 * orders.GetOrder({ id }, (err, order) => …); // typed by the generated OrderServiceClient
 * ```
 */
export function client<C extends grpc.Client>(Client: ServiceClientConstructor<C>, target: string, options: ClientOptions = {}): C {
  if (typeof Client !== 'function') throw new CoordError('invalid-argument', 'client: the first argument must be a generated client constructor');
  if (typeof target !== 'string' || target === '') throw new CoordError('invalid-argument', `client: target must be a non-empty string such as 'etcd:///orders', got ${JSON.stringify(target)}`);
  const { credentials = grpc.credentials.createInsecure(), serviceConfig: config, ...channelOptions } = options;
  return new Client(target, credentials, {
    ...channelOptions,
    ...(config ? { 'grpc.service_config': serviceConfig(config) } : {}),
  });
}
