import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const protoDir = fileURLToPath(new URL('../../proto/etcd/', import.meta.url));

/**
 * Loader options shared by the store and the client: field names as in etcd's .proto
 * (snake_case), int64 as decimal strings (lease IDs use all 63 bits), bytes as Buffers,
 * zero values filled in, and the name of the set oneof member exposed.
 */
export const loaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
  includeDirs: [protoDir],
};

let cached: grpc.GrpcObject | undefined;

/** The etcd v3 API package (etcdserverpb) as a grpc-js object; loaded once per process. */
export function etcdProto(): EtcdPackage {
  cached ??= grpc.loadPackageDefinition(protoLoader.loadSync('rpc.proto', loaderOptions));
  return cached.etcdserverpb as unknown as EtcdPackage;
}

export interface EtcdPackage {
  KV: grpc.ServiceClientConstructor;
  Watch: grpc.ServiceClientConstructor;
  Lease: grpc.ServiceClientConstructor;
  Cluster: grpc.ServiceClientConstructor;
  Maintenance: grpc.ServiceClientConstructor;
  Auth: grpc.ServiceClientConstructor;
}
