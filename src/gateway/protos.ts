// Loading the .proto files into one protobufjs Root: its services give the methods and their
// options (the `google.api.http` annotations), its types the message model the JSON mapping walks
// (field types, oneofs, maps, json_name). The files are read and parsed once.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { CoordError } from '../core/errors.ts';

/** coord's own google/api and google/rpc protos, always on the include path. */
export const BUILTIN_PROTO_DIR = fileURLToPath(new URL('../../proto', import.meta.url));

// google/protobuf/{descriptor,api,type,source_context}.proto (descriptor.proto is what
// google/api/annotations.proto imports): protobufjs ships them but registers only the
// well-known types; registered as @grpc/proto-loader does, so imports of them resolve.
const require = createRequire(import.meta.url);
for (const name of ['descriptor', 'api', 'type', 'source_context']) {
  const json = require(`protobufjs/google/protobuf/${name}.json`) as { nested: { google: { nested: { protobuf: { nested: protobuf.INamespace['nested'] } } } } };
  protobuf.common(name, json.nested.google.nested.protobuf.nested!);
}

/** The raw `google.api.http` option as protobufjs parses it (field names as in the .proto). */
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
  let root: protobuf.Root;
  try {
    root = new protobuf.Root();
    root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : (dirs.map((d) => join(d, target)).find((p) => existsSync(p)) ?? target));
    // google.rpc.Status and its detail types too, to decode and sort error details: by include
    // path, so a copy the protos already import (from an include dir) is the one loaded.
    root.loadSync([...absolute, 'google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true, alternateCommentMode: true });
    root.resolveAll();
  } catch (e) {
    throw new CoordError('invalid-argument', `gateway: cannot load ${files.join(', ')}: ${(e as Error).message}`, { cause: e });
  }
  const methods: MethodInfo[] = [];
  const services: string[] = [];
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Service) {
        const name = o.fullName.slice(1);
        services.push(name);
        for (const pm of o.methodsArray) {
          // parsedOptions: one object per `option` statement, as proto-loader merges them.
          const options = Object.assign({}, ...(pm.parsedOptions ?? [])) as Record<string, unknown>;
          methods.push({
            service: name,
            name: pm.name,
            path: `/${name}/${pm.name}`,
            requestType: pm.resolvedRequestType!,
            responseType: pm.resolvedResponseType!,
            clientStreaming: !!pm.requestStream,
            serverStreaming: !!pm.responseStream,
            http: options['(google.api.http)'] as RawHttpRule | undefined,
            comment: pm.comment ?? undefined,
          });
        }
      } else if (o instanceof protobuf.Namespace) walk(o);
    }
  };
  walk(root);
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
