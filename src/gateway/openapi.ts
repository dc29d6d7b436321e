// The OpenAPI 3 document for the gateway's routes, built from the same bindings and message
// model that transcode requests: paths and operations per binding, path and query parameters,
// request bodies, response schemas in proto3 JSON form, the error shape and the bearer scheme.
import protobuf from 'protobufjs';
import type { Binding, RoutePolicy } from './bindings.ts';
import { messageInfo, type FieldInfo } from './json-codec.ts';
import { isInt64 } from './json-scalars.ts';
import { WELL_KNOWN } from './json-well-known.ts';
import { openApiPath, variablePattern } from './path-template.ts';

type Schema = Record<string, unknown>;

export interface OpenApiOptions {
  title: string;
  version: string;
  /** The policy each binding runs under; undefined when auth is off. */
  policyOf: ((b: Binding) => RoutePolicy) | undefined;
}

const ERROR_SCHEMA = 'coord.gateway.Error';

export function openApiDocument(bindings: readonly Binding[], o: OpenApiOptions): Record<string, unknown> {
  const schemas: Record<string, Schema> = {
    [ERROR_SCHEMA]: {
      type: 'object',
      description: 'Error answer: the gRPC status code and message, and the google.rpc.Status details.',
      properties: { code: { type: 'integer', format: 'int32' }, message: { type: 'string' }, details: { type: 'array', items: { type: 'object', additionalProperties: true } } },
      required: ['code', 'message', 'details'],
    },
  };
  const ref = (type: protobuf.Type | protobuf.Enum): Schema => {
    const name = type.fullName.slice(1);
    if (!schemas[name]) {
      schemas[name] = {};
      schemas[name] = type instanceof protobuf.Enum ? { type: 'string', enum: Object.keys(type.values) } : messageSchema(type);
    }
    return { $ref: `#/components/schemas/${name}` };
  };
  const valueSchema = (f: FieldInfo): Schema => {
    if (f.enumType) return f.enumType.fullName === '.google.protobuf.NullValue' ? { nullable: true } : ref(f.enumType);
    if (f.message) return WELL_KNOWN.has(f.message.fullName) ? wellKnownSchema(f.message.fullName) : ref(f.message);
    return scalarSchema(f.scalar!);
  };
  const fieldSchema = (f: FieldInfo): Schema => {
    if (f.map) return { type: 'object', additionalProperties: valueSchema(f) };
    if (f.repeated) return { type: 'array', items: valueSchema(f) };
    return valueSchema(f);
  };
  const messageSchema = (type: protobuf.Type): Schema => {
    const properties: Record<string, Schema> = {};
    for (const f of messageInfo(type).fields) {
      const s = fieldSchema(f);
      const description = f.field.comment ?? undefined;
      properties[f.jsonName] = description ? (s.$ref ? { allOf: [s], description } : { ...s, description }) : s;
    }
    return { type: 'object', ...(type.comment ? { description: type.comment } : {}), properties };
  };
  const bodySchema = (type: protobuf.Type): Schema => (WELL_KNOWN.has(type.fullName) ? wellKnownSchema(type.fullName) : ref(type));

  const paths: Record<string, Record<string, unknown>> = {};
  const operationIds = new Map<string, number>();
  for (const b of bindings) {
    const m = b.method;
    const path = openApiPath(b.template);
    const parameters: Schema[] = [];
    for (const v of b.template.variables) {
      const { chain } = b.pathFields.find((p) => p.key === v.path.join('.'))!;
      const pattern = variablePattern(b.template, v);
      parameters.push({
        name: v.path.join('.'),
        in: 'path',
        required: true,
        schema: valueSchema(chain[chain.length - 1]),
        ...(pattern === '*' ? {} : { description: `matches ${pattern}` }),
      });
    }
    if (b.body !== '*') parameters.push(...queryParameters(m.requestType, b, valueSchema));
    const baseId = `${m.service.slice(m.service.lastIndexOf('.') + 1)}_${m.name}`;
    const n = operationIds.get(baseId) ?? 0;
    operationIds.set(baseId, n + 1);
    const responseType = b.responseField ? fieldSchema(b.responseField) : bodySchema(m.responseType);
    const content = m.serverStreaming
      ? {
          'application/x-ndjson': { schema: { type: 'object', properties: { result: responseType, error: { $ref: `#/components/schemas/${ERROR_SCHEMA}` } } } },
          'text/event-stream': { schema: responseType },
        }
      : { 'application/json': { schema: responseType } };
    const policy = o.policyOf?.(b);
    const op: Record<string, unknown> = {
      operationId: n === 0 ? baseId : `${baseId}_${n + 1}`,
      tags: [m.service],
      ...(m.comment ? { summary: m.comment.split('\n')[0], description: m.comment } : {}),
      'x-grpc-method': m.path,
      parameters,
      responses: {
        200: { description: m.serverStreaming ? 'A stream of messages' : 'OK', content },
        default: { description: 'Error', content: { 'application/json': { schema: { $ref: `#/components/schemas/${ERROR_SCHEMA}` } } } },
      },
      ...(policy === undefined ? {} : { security: policy === 'public' ? [] : [{ bearer: policy === 'authenticated' ? [] : policy.scopes }] }),
    };
    if (b.body) {
      const schema = b.body === '*' ? bodySchema(m.requestType) : fieldSchema(b.bodyField!);
      op.requestBody = { required: b.body === '*', content: { 'application/json': { schema } } };
    }
    (paths[path] ??= {})[b.httpMethod.toLowerCase()] = op;
  }
  return {
    openapi: '3.0.3',
    info: { title: o.title, version: o.version },
    paths,
    components: {
      schemas,
      ...(o.policyOf ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } } : {}),
    },
  };
}

/** Query parameters: every scalar-like field not bound by the path or body, nested fields dotted (depth ≤ 3). */
function queryParameters(type: protobuf.Type, b: Binding, valueSchema: (f: FieldInfo) => Schema): Schema[] {
  const out: Schema[] = [];
  const walk = (t: protobuf.Type, prefix: string[], jsonPrefix: string[], depth: number) => {
    for (const f of messageInfo(t).fields) {
      const key = [...prefix, f.name].join('.');
      if (b.boundPaths.has(key) || f.map) continue;
      const name = [...jsonPrefix, f.jsonName].join('.');
      if (f.message && !WELL_KNOWN.has(f.message.fullName)) {
        if (!f.repeated && depth < 3) walk(f.message, [...prefix, f.name], [...jsonPrefix, f.jsonName], depth + 1);
        continue;
      }
      if (f.message && ['.google.protobuf.Struct', '.google.protobuf.ListValue', '.google.protobuf.Any', '.google.protobuf.Empty'].includes(f.message.fullName)) continue;
      const schema = valueSchema(f);
      out.push({
        name,
        in: 'query',
        required: false,
        schema: f.repeated ? { type: 'array', items: schema } : schema,
        ...(f.repeated ? { explode: true } : {}),
        ...(f.field.comment ? { description: f.field.comment } : {}),
      });
    }
  };
  walk(type, [], [], 0);
  return out;
}

function scalarSchema(type: string): Schema {
  if (isInt64(type)) return { type: 'string', format: type.startsWith('u') || type === 'fixed64' ? 'uint64' : 'int64' };
  switch (type) {
    case 'double':
    case 'float':
      return { type: 'number', format: type };
    case 'bool':
      return { type: 'boolean' };
    case 'string':
      return { type: 'string' };
    case 'bytes':
      return { type: 'string', format: 'byte' };
    case 'uint32':
    case 'fixed32':
      return { type: 'integer', format: 'int64', minimum: 0 };
    default:
      return { type: 'integer', format: 'int32' };
  }
}

function wellKnownSchema(fullName: string): Schema {
  const wk = WELL_KNOWN.get(fullName)!;
  switch (wk) {
    case 'timestamp':
      return { type: 'string', format: 'date-time' };
    case 'duration':
      return { type: 'string', pattern: '^-?\\d+(\\.\\d{1,9})?s$', example: '1.5s' };
    case 'struct':
      return { type: 'object', additionalProperties: true };
    case 'value':
      return {};
    case 'list':
      return { type: 'array', items: {} };
    case 'fieldmask':
      return { type: 'string', example: 'title,author.name' };
    case 'empty':
      return { type: 'object' };
    case 'any':
      return { type: 'object', properties: { '@type': { type: 'string' } }, required: ['@type'], additionalProperties: true };
    default:
      return { ...scalarSchema(wk.slice('wrapper:'.length)), nullable: true };
  }
}
