// HTTP bindings: each `google.api.http` rule (and each additional binding), and each entry of the
// explicit route table, checked against the request and response messages once at start-up.
import type protobuf from 'protobufjs';
import { CoordError } from '../core/errors.ts';
import { messageInfo, type FieldInfo } from './json-codec.ts';
import { WELL_KNOWN } from './json-well-known.ts';
import { parsePathTemplate, type PathTemplate } from './path-template.ts';
import type { LoadedProtos, MethodInfo, RawHttpRule } from './protos.ts';

/** Who may call a route: anyone, any valid token, or a token carrying all these scopes. */
export type RoutePolicy = 'public' | 'authenticated' | { scopes: string[] };

/** A route for a method without annotations (or in addition to them). */
export interface RouteConfig {
  /** HTTP method: GET, POST, PUT, PATCH, DELETE or any other token (custom). */
  method: string;
  /** Path template, as in google.api.http: `/v1/hello/{name}`. */
  path: string;
  /** The gRPC method: `pkg.Service/Method` (or `pkg.Service.Method`). */
  rpc: string;
  /** Request field the body fills: `*` for the whole message, a field name, or '' for none. Default `*` for POST/PUT/PATCH, none otherwise. */
  body?: string;
  /** Response field returned as the body instead of the whole message. Default: the whole message. */
  responseBody?: string;
  /** Overrides the auth policy for this route. */
  auth?: RoutePolicy;
}

export interface Binding {
  method: MethodInfo;
  httpMethod: string;
  template: PathTemplate;
  /** `*`, a top-level request field name, or undefined for no body. */
  body: string | undefined;
  bodyField: FieldInfo | undefined;
  responseField: FieldInfo | undefined;
  /** Path variables with the field chain each fills. */
  pathFields: Array<{ key: string; chain: FieldInfo[] }>;
  /** Request fields bound by the path or the body: not settable from the query. */
  boundPaths: Set<string>;
  /** From the route table; otherwise the auth options decide. */
  policy: RoutePolicy | undefined;
  /** `GET /v1/shelves/{shelf_id}`: for logs, metrics and OpenAPI. */
  label: string;
}

const VERBS = ['get', 'put', 'post', 'delete', 'patch'] as const;

export function collectBindings(protos: LoadedProtos, routes: readonly RouteConfig[]): Binding[] {
  const out: Binding[] = [];
  for (const m of protos.methods) {
    if (!m.http) continue;
    const rules = [m.http, ...asList(m.http.additional_bindings)];
    for (const [i, rule] of rules.entries()) {
      if (i > 0 && rule.additional_bindings) throw bad(m, 'additional_bindings cannot nest');
      const { httpMethod, path } = patternOf(m, rule);
      out.push(makeBinding(m, httpMethod, path, rule.body || undefined, rule.response_body || undefined, undefined));
    }
  }
  for (const r of routes) {
    const m = protos.byName.get(r.rpc);
    if (!m) throw new CoordError('invalid-argument', `gateway: route ${r.method} ${r.path}: no method ${r.rpc} in the loaded protos (write pkg.Service/Method)`);
    const httpMethod = r.method.toUpperCase();
    const body = r.body ?? (['POST', 'PUT', 'PATCH'].includes(httpMethod) ? '*' : undefined);
    out.push(makeBinding(m, httpMethod, r.path, body || undefined, r.responseBody || undefined, r.auth));
  }
  return out;
}

function asList(v: RawHttpRule | RawHttpRule[] | undefined): RawHttpRule[] {
  if (!v) return [];
  return Array.isArray(v) ? v : [v];
}

function bad(m: MethodInfo, why: string): CoordError {
  return new CoordError('invalid-argument', `gateway: google.api.http on ${m.service}.${m.name}: ${why}`);
}

function patternOf(m: MethodInfo, rule: RawHttpRule): { httpMethod: string; path: string } {
  const set = VERBS.filter((v) => rule[v]);
  if (rule.custom?.kind) {
    if (set.length) throw bad(m, 'more than one pattern set');
    if (!rule.custom.path) throw bad(m, 'custom pattern without a path');
    return { httpMethod: rule.custom.kind.toUpperCase(), path: rule.custom.path };
  }
  if (set.length !== 1) throw bad(m, set.length ? 'more than one pattern set' : 'no pattern (get, put, post, delete, patch or custom)');
  return { httpMethod: set[0].toUpperCase(), path: rule[set[0]]! };
}

function makeBinding(m: MethodInfo, httpMethod: string, path: string, body: string | undefined, responseBody: string | undefined, policy: RoutePolicy | undefined): Binding {
  const where = `${httpMethod} ${path} (${m.service}.${m.name})`;
  const fail = (why: string) => new CoordError('invalid-argument', `gateway: ${where}: ${why}`);
  if (!/^[A-Z][A-Z0-9_-]*$/.test(httpMethod)) throw fail(`bad HTTP method ${JSON.stringify(httpMethod)}`);
  if (m.clientStreaming) throw fail('client-streaming methods cannot be transcoded');
  let template: PathTemplate;
  try {
    template = parsePathTemplate(path);
  } catch (e) {
    throw fail((e as Error).message);
  }
  const boundPaths = new Set<string>();
  const pathFields = template.variables.map((v) => {
    const chain = fieldChain(m.requestType, v.path, fail);
    const leaf = chain[chain.length - 1];
    if (leaf.repeated || leaf.map) throw fail(`path variable {${v.path.join('.')}} names a repeated field`);
    if (leaf.message && !WELL_KNOWN.has(leaf.message.fullName)) throw fail(`path variable {${v.path.join('.')}} names a message field`);
    const key = chain.map((f) => f.name).join('.');
    boundPaths.add(key);
    return { key: v.path.join('.'), chain };
  });
  let bodyField: FieldInfo | undefined;
  if (body && body !== '*') {
    bodyField = messageInfo(m.requestType).byName.get(body);
    if (!bodyField) throw fail(`body field ${body} is not a field of ${m.requestType.fullName.slice(1)}`);
    boundPaths.add(bodyField.name);
  }
  let responseField: FieldInfo | undefined;
  if (responseBody) {
    responseField = messageInfo(m.responseType).byName.get(responseBody);
    if (!responseField) throw fail(`response_body field ${responseBody} is not a field of ${m.responseType.fullName.slice(1)}`);
  }
  return { method: m, httpMethod, template, body, bodyField, responseField, pathFields, boundPaths, policy, label: `${httpMethod} ${path}` };
}

/** The fields a dotted path goes through, from `type`. */
export function fieldChain(type: protobuf.Type, path: readonly string[], fail: (why: string) => Error): FieldInfo[] {
  const chain: FieldInfo[] = [];
  let current = type;
  for (const [i, part] of path.entries()) {
    const f = messageInfo(current).byName.get(part);
    if (!f) throw fail(`${path.slice(0, i + 1).join('.')} is not a field of ${type.fullName.slice(1)}`);
    chain.push(f);
    if (i < path.length - 1) {
      if (!f.message || f.repeated || f.map) throw fail(`${path.slice(0, i + 1).join('.')} is not a singular message field`);
      current = f.message;
    }
  }
  return chain;
}
