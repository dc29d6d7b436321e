// proto3 JSON mapping (https://protobuf.dev/programming-guides/json/) between HTTP bodies and
// protobufjs messages: lowerCamelCase names out, either name in; defaults emitted; enums by name;
// int64 as strings; bytes base64; well-known types by their special forms. Input is checked
// strictly: a wrong type or an unknown field is a TranscodeError naming the field (HTTP 400).
import protobuf from 'protobufjs';
import { lowerCamel, scalarFromJson, scalarToJson, TranscodeError } from './json-scalars.ts';
import { wellKnownFromJson, wellKnownToJson, WELL_KNOWN } from './json-well-known.ts';

export interface FieldInfo {
  field: protobuf.Field;
  /** Name in the .proto. */
  name: string;
  /** proto3 JSON name (lowerCamelCase unless `json_name` says otherwise). */
  jsonName: string;
  repeated: boolean;
  map: boolean;
  /** Scalar type name, or undefined for messages and enums. */
  scalar: string | undefined;
  message: protobuf.Type | undefined;
  enumType: protobuf.Enum | undefined;
  /** The oneof (real or proto3 `optional`) it belongs to: present only when set. */
  oneof: string | undefined;
}

export interface MessageInfo {
  type: protobuf.Type;
  fields: FieldInfo[];
  /** By proto name and by JSON name. */
  byName: Map<string, FieldInfo>;
}

export interface CodecOptions {
  /** Unknown fields in request bodies are an error (true) or ignored. Default true. */
  rejectUnknownFields?: boolean;
}

const infos = new WeakMap<protobuf.Type, MessageInfo>();

/** Field facts for `type`, computed once. */
export function messageInfo(type: protobuf.Type): MessageInfo {
  let info = infos.get(type);
  if (info) return info;
  type.resolveAll();
  const fields = type.fieldsArray.map((f): FieldInfo => {
    const resolved = f.resolvedType;
    return {
      field: f,
      name: f.name,
      jsonName: (f.options?.json_name as string | undefined) ?? lowerCamel(f.name),
      repeated: f.repeated,
      map: f.map,
      scalar: resolved ? undefined : f.type,
      message: resolved instanceof protobuf.Type ? resolved : undefined,
      enumType: resolved instanceof protobuf.Enum ? resolved : undefined,
      oneof: f.partOf?.name,
    };
  });
  const byName = new Map<string, FieldInfo>();
  for (const fi of fields) {
    byName.set(fi.name, fi);
    byName.set(fi.jsonName, fi);
  }
  info = { type, fields, byName };
  infos.set(type, info);
  return info;
}


const join = (path: string, name: string) => (path ? `${path}.${name}` : name);

export class JsonCodec {
  private readonly rejectUnknown: boolean;

  constructor(
    readonly root: protobuf.Root,
    options: CodecOptions = {},
  ) {
    this.rejectUnknown = options.rejectUnknownFields ?? true;
  }

  /** A decoded message (or plain object of the same shape) as proto3 JSON, defaults included. */
  toJson(type: protobuf.Type, msg: Record<string, unknown> | null | undefined): unknown {
    const wk = WELL_KNOWN.get(type.fullName);
    if (wk) return msg == null ? null : wellKnownToJson(this, wk, type, msg);
    if (msg == null) return null;
    const out: Record<string, unknown> = {};
    for (const f of messageInfo(type).fields) {
      if (f.oneof !== undefined && !Object.prototype.hasOwnProperty.call(msg, f.name)) continue;
      out[f.jsonName] = this.fieldToJson(f, msg[f.name]);
    }
    return out;
  }

  /** A whole field (list, map or single value) as JSON. */
  fieldToJson(f: FieldInfo, v: unknown): unknown {
    if (f.map) {
      const obj: Record<string, unknown> = {};
      const keyType = (f.field as unknown as protobuf.MapField).keyType;
      for (const [k, item] of Object.entries((v as Record<string, unknown>) ?? {})) {
        obj[keyType.endsWith('64') ? String(scalarToJson(keyType, k)) : k] = this.valueToJson(f, item);
      }
      return obj;
    }
    if (f.repeated) return ((v as unknown[]) ?? []).map((item) => this.valueToJson(f, item));
    return this.valueToJson(f, v);
  }

  /** One field value (not a list or map) as JSON. */
  valueToJson(f: FieldInfo, v: unknown): unknown {
    if (f.message) return this.toJson(f.message, v as Record<string, unknown>);
    if (f.enumType) {
      if (f.enumType.fullName === '.google.protobuf.NullValue') return null;
      return f.enumType.valuesById[v as number] ?? v;
    }
    return scalarToJson(f.scalar!, v);
  }

  /** A JSON value as the plain object protobufjs `encode` takes; `path` names the field for errors. */
  fromJson(type: protobuf.Type, json: unknown, path = ''): Record<string, unknown> {
    const wk = WELL_KNOWN.get(type.fullName);
    if (wk) return wellKnownFromJson(this, wk, type, json, path);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new TranscodeError(path, `expected a JSON object (${type.name}), got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`);
    }
    const info = messageInfo(type);
    const out: Record<string, unknown> = {};
    const oneofs = new Map<string, string>();
    for (const key of Object.keys(json)) {
      const v = (json as Record<string, unknown>)[key];
      const f = info.byName.get(key);
      if (!f) {
        if (this.rejectUnknown) throw new TranscodeError(join(path, key), `no such field in ${type.fullName.slice(1)}`);
        continue;
      }
      const fieldPath = join(path, f.jsonName);
      if (Object.prototype.hasOwnProperty.call(out, f.name)) throw new TranscodeError(fieldPath, 'given twice (by its proto name and its JSON name)');
      // null means "not set", except for google.protobuf.Value, where it is a JSON null.
      if (v === null && f.message?.fullName !== '.google.protobuf.Value') continue;
      if (f.oneof !== undefined) {
        const other = oneofs.get(f.oneof);
        if (other) throw new TranscodeError(fieldPath, `only one field of oneof ${f.oneof} may be set, ${other} is set too`);
        oneofs.set(f.oneof, f.jsonName);
      }
      out[f.name] = this.fieldFromJson(f, v, fieldPath);
    }
    return out;
  }

  /** A whole field (list, map or single value) from JSON. */
  fieldFromJson(f: FieldInfo, v: unknown, path: string): unknown {
    if (f.map) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TranscodeError(path, `expected a JSON object (map), got ${Array.isArray(v) ? 'an array' : typeof v}`);
      const keyType = (f.field as unknown as protobuf.MapField).keyType;
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        if (keyType === 'bool') throw new TranscodeError(path, 'maps with bool keys are not supported by the gateway');
        // Checked here; protobufjs encodes the (decimal string) key itself.
        if (keyType !== 'string') scalarFromJson(keyType, k, `${path}[${k}]`, true);
        out[k] = this.valueFromJson(f, item, `${path}[${k}]`);
      }
      return out;
    }
    if (f.repeated) {
      if (!Array.isArray(v)) throw new TranscodeError(path, `expected a JSON array, got ${v === null ? 'null' : typeof v}`);
      return v.map((item, i) => this.valueFromJson(f, item, `${path}[${i}]`));
    }
    return this.valueFromJson(f, v, path);
  }

  /** One value (an element of a list or map, or a singular field) from JSON. */
  valueFromJson(f: FieldInfo, v: unknown, path: string, fromText = false): unknown {
    if (f.message) {
      if (fromText) return this.fromText(f.message, v as string, path);
      return this.fromJson(f.message, v, path);
    }
    if (f.enumType) return enumFromJson(f.enumType, v, path, fromText);
    return scalarFromJson(f.scalar!, v, path, fromText);
  }

  /** A message from a path or query string: only well-known types with a string JSON form (Timestamp, Duration, FieldMask, wrappers). */
  private fromText(type: protobuf.Type, text: string, path: string): Record<string, unknown> {
    const wk = WELL_KNOWN.get(type.fullName);
    if (!wk || wk === 'struct' || wk === 'list' || wk === 'any' || wk === 'empty') {
      throw new TranscodeError(path, `a ${type.fullName.slice(1)} cannot be set from the URL; set its fields one by one (${path}.<field>=…) or send it in the body`);
    }
    if (wk === 'value') return { stringValue: text };
    if (wk.startsWith('wrapper:')) {
      const scalar = wk.slice('wrapper:'.length);
      return { value: scalarFromJson(scalar, text, path, true) };
    }
    return wellKnownFromJson(this, wk, type, text, path);
  }
}

function enumFromJson(e: protobuf.Enum, v: unknown, path: string, fromText: boolean): number {
  if (e.fullName === '.google.protobuf.NullValue') return 0;
  if (typeof v === 'string') {
    // `values` inherits from `valuesById` in protobufjs: only its own keys are names.
    if (Object.prototype.hasOwnProperty.call(e.values, v)) return e.values[v];
    if (fromText && /^-?\d+$/.test(v)) return Number(v);
  }
  if (typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) return v;
  const names = Object.keys(e.values);
  throw new TranscodeError(path, `expected one of ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''} (${e.name}), got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
}
