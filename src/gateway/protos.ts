// Loading the .proto files: @grpc/proto-loader gives the methods and their options (the
// `google.api.http` annotations); a protobufjs Root over the same files and include dirs gives
// the message model the JSON mapping walks (field types, oneofs, maps, json_name) — proto-loader's
// own DescriptorProto copies drop some of it (relative type names, oneof membership).
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { CoordError } from '../core/errors.ts';

/** coord's own google/api and google/rpc protos, always on the include path. */
export const BUILTIN_PROTO_DIR = fileURLToPath(new URL('../../proto', import.meta.url));

/** The raw `google.api.http` option as proto-loader parses it (field names as in the .proto). */
export interface RawHttpRule {
  get?: string;
  put?: string;
  post?: string;
  delete?: string;
  patch?: string;
  custom?: { kind?: string; path?: string };
  body?: string;
  response_body?: string;
  additional_bindings?: RawHttpRule | RawHttpRule[];
}

export interface MethodInfo {
  /** Fully qualified service name, `pkg.Service`. */
  service: string;
  name: string;
  /** `/pkg.Service/Method`. */
  path: string;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
  clientStreaming: boolean;
  serverStreaming: boolean;
  http: RawHttpRule | undefined;
  /** The method's leading comment, for the OpenAPI document. */
  comment: string | undefined;
}

export interface LoadedProtos {
  root: protobuf.Root;
  methods: MethodInfo[];
  /** By `pkg.Service/Method` and `pkg.Service.Method`. */
  byName: Map<string, MethodInfo>;
  services: string[];
}

export function loadProtos(files: readonly string[], includeDirs: readonly string[] = []): LoadedProtos {
  if (files.length === 0) throw new CoordError('invalid-argument', 'gateway: protoFiles must list at least one .proto file');
  const dirs = [...includeDirs.map((d) => resolve(d)), BUILTIN_PROTO_DIR];
  const absolute = files.map((f) => findFile(f, dirs));
  let definition: protoLoader.PackageDefinition;
  let root: protobuf.Root;
  try {
    definition = protoLoader.loadSync(absolute, { includeDirs: dirs, keepCase: true });
    root = new protobuf.Root();
    root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : (dirs.map((d) => join(d, target)).find((p) => existsSync(p)) ?? target));
    // google.rpc.Status too, to decode error details.
    root.loadSync([...absolute, join(BUILTIN_PROTO_DIR, 'google/rpc/status.proto')], { keepCase: true, alternateCommentMode: true });
    root.resolveAll();
  } catch (e) {
    throw new CoordError('invalid-argument', `gateway: cannot load ${files.join(', ')}: ${(e as Error).message}`, { cause: e });
  }
  const methods: MethodInfo[] = [];
  const services: string[] = [];
  for (const [name, def] of Object.entries(definition)) {
    if ('format' in def) continue;
    // proto-loader's common protos (descriptor.proto) define no services; every entry here is one.
    services.push(name);
    const service = root.lookupService(name);
    for (const [methodName, m] of Object.entries(def as protoLoader.ServiceDefinition)) {
      const pm = service.methods[methodName];
      const options = (m as unknown as { options?: Record<string, unknown> }).options ?? {};
      methods.push({
        service: name,
        name: methodName,
        path: m.path,
        requestType: pm.resolvedRequestType!,
        responseType: pm.resolvedResponseType!,
        clientStreaming: m.requestStream,
        serverStreaming: m.responseStream,
        http: options['(google.api.http)'] as RawHttpRule | undefined,
        comment: pm.comment ?? undefined,
      });
    }
  }
  const byName = new Map<string, MethodInfo>();
  for (const m of methods) {
    byName.set(`${m.service}/${m.name}`, m);
    byName.set(`${m.service}.${m.name}`, m);
  }
  return { root, methods, byName, services };
}

function findFile(file: string, dirs: string[]): string {
  if (isAbsolute(file) || existsSync(file)) {
    if (!existsSync(file)) throw new CoordError('invalid-argument', `gateway: proto file ${file} does not exist`);
    return resolve(file);
  }
  const found = dirs.map((d) => join(d, file)).find((p) => existsSync(p));
  if (!found) throw new CoordError('invalid-argument', `gateway: proto file ${file} not found (looked in . and ${dirs.join(', ')})`);
  return found;
}
