// gRPC server reflection (grpcurl, Postman, grpcui) on @grpc/reflection. It needs the protos'
// file descriptors. Services loaded with @grpc/proto-loader already carry them — every message
// type holds the descriptors of the files it was loaded with — so serve() finds them itself;
// services from static codegen carry none, and need `protoPaths` or `packageDefinitions`.
import { createRequire } from 'node:module';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Where reflection gets descriptors beyond those the served services carry. */
export interface ReflectionOptions {
  /** .proto files to load for their descriptors. */
  protoPaths?: string[];
  /** Import roots for `protoPaths`. */
  includeDirs?: string[];
  /** Already loaded package definitions (`protoLoader.loadSync(...)`). */
  packageDefinitions?: protoLoader.PackageDefinition[];
}

interface ReflectionService {
  addToServer(server: Pick<grpc.Server, 'addService'>): void;
}

type Described = { requestType?: { fileDescriptorProtos?: unknown }; responseType?: { fileDescriptorProtos?: unknown } };

/**
 * Adds the reflection service, listing `served` (full service names → definitions). Returns the
 * names of served services it has no descriptors for (they are not listed).
 */
export function addReflection(server: grpc.Server, served: ReadonlyMap<string, grpc.ServiceDefinition>, options: ReflectionOptions = {}): string[] {
  const root: protoLoader.PackageDefinition = {};
  const missing: string[] = [];
  for (const [name, definition] of served) {
    let described = false;
    for (const [method, m] of Object.entries(definition as Record<string, Described>)) {
      for (const [side, type] of [['request', m.requestType], ['response', m.responseType]] as const) {
        if (!Array.isArray(type?.fileDescriptorProtos)) continue;
        root[`${name}.${method}.${side}`] = type as protoLoader.MessageTypeDefinition<object, object>;
        described = true;
      }
    }
    if (!described) missing.push(name);
  }
  const extra = [...(options.packageDefinitions ?? [])];
  if (options.protoPaths?.length) {
    extra.push(protoLoader.loadSync(options.protoPaths, { includeDirs: options.includeDirs, keepCase: true }));
  }
  extra.forEach((pkg, i) => {
    for (const [k, v] of Object.entries(pkg)) root[`extra${i}:${k}`] = v;
  });
  // Extra definitions may describe services that carry no descriptors themselves; the library
  // simply finds them, so only report services nothing could describe.
  const unresolved = extra.length > 0 ? [] : missing;
  const require = createRequire(import.meta.url);
  const { ReflectionService } = require('@grpc/reflection') as {
    ReflectionService: new (pkg: protoLoader.PackageDefinition, options?: { services?: string[] }) => ReflectionService;
  };
  new ReflectionService(root, { services: [...served.keys()] }).addToServer(server);
  return unresolved;
}
