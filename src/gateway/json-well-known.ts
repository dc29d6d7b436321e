// The well-known types' special JSON forms: Timestamp (RFC 3339), Duration ("1.5s"), wrappers
// (the bare value), Struct/Value/ListValue (any JSON), FieldMask ("a.b,cD"), Empty ({}) and Any
// ({"@type": …, fields}). Fields are read by number: protobufjs names some of these camelCase.
import protobuf from 'protobufjs';
import { longToString, lowerCamel, scalarFromJson, scalarToJson, TranscodeError } from './json-scalars.ts';

export type WellKnown = 'timestamp' | 'duration' | 'struct' | 'value' | 'list' | 'fieldmask' | 'empty' | 'any' | `wrapper:${string}`;

export const WELL_KNOWN = new Map<string, WellKnown>([
  ['.google.protobuf.Timestamp', 'timestamp'],
  ['.google.protobuf.Duration', 'duration'],
  ['.google.protobuf.Struct', 'struct'],
  ['.google.protobuf.Value', 'value'],
  ['.google.protobuf.ListValue', 'list'],
  ['.google.protobuf.FieldMask', 'fieldmask'],
  ['.google.protobuf.Empty', 'empty'],
  ['.google.protobuf.Any', 'any'],
  ['.google.protobuf.DoubleValue', 'wrapper:double'],
  ['.google.protobuf.FloatValue', 'wrapper:float'],
  ['.google.protobuf.Int64Value', 'wrapper:int64'],
  ['.google.protobuf.UInt64Value', 'wrapper:uint64'],
  ['.google.protobuf.Int32Value', 'wrapper:int32'],
  ['.google.protobuf.UInt32Value', 'wrapper:uint32'],
  ['.google.protobuf.BoolValue', 'wrapper:bool'],
  ['.google.protobuf.StringValue', 'wrapper:string'],
  ['.google.protobuf.BytesValue', 'wrapper:bytes'],
]);

type Msg = Record<string, unknown>;

/** What the well-known types need from the message codec (json-codec.ts), for nested messages and Any. */
export interface MessageCodec {
  readonly root: protobuf.Root;
  toJson(type: protobuf.Type, msg: Msg | null | undefined): unknown;
  fromJson(type: protobuf.Type, json: unknown, path?: string): Msg;
}
const name = (type: protobuf.Type, id: number) => type.fieldsById[id].name;
const MAX_SECONDS = 315_576_000_000;
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const MIN_TS = -62_135_596_800;
const MAX_TS = 253_402_300_799;

export function wellKnownToJson(codec: MessageCodec, wk: WellKnown, type: protobuf.Type, msg: Msg): unknown {
  switch (wk) {
    case 'timestamp': {
      const seconds = Number(longToString(msg[name(type, 1)] ?? 0, false));
      const nanos = Number(msg[name(type, 2)] ?? 0);
      const iso = new Date(seconds * 1000).toISOString().slice(0, 19);
      return `${iso}${fraction(nanos)}Z`;
    }
    case 'duration': {
      const seconds = BigInt(longToString(msg[name(type, 1)] ?? 0, false));
      const nanos = Number(msg[name(type, 2)] ?? 0);
      const negative = seconds < 0n || nanos < 0;
      const abs = seconds < 0n ? -seconds : seconds;
      return `${negative ? '-' : ''}${abs}${fraction(Math.abs(nanos))}s`;
    }
    case 'struct': {
      const out: Msg = {};
      const valueType = type.fieldsById[1].resolvedType as protobuf.Type;
      for (const [k, v] of Object.entries((msg[name(type, 1)] as Msg) ?? {})) out[k] = wellKnownToJson(codec, 'value', valueType, v as Msg);
      return out;
    }
    case 'list': {
      const valueType = type.fieldsById[1].resolvedType as protobuf.Type;
      return ((msg[name(type, 1)] as Msg[]) ?? []).map((v) => wellKnownToJson(codec, 'value', valueType, v));
    }
    case 'value': {
      const has = (id: number) => Object.prototype.hasOwnProperty.call(msg, name(type, id));
      if (has(2)) return msg[name(type, 2)];
      if (has(3)) return msg[name(type, 3)];
      if (has(4)) return msg[name(type, 4)];
      if (has(5)) return wellKnownToJson(codec, 'struct', type.fieldsById[5].resolvedType as protobuf.Type, msg[name(type, 5)] as Msg);
      if (has(6)) return wellKnownToJson(codec, 'list', type.fieldsById[6].resolvedType as protobuf.Type, msg[name(type, 6)] as Msg);
      return null;
    }
    case 'fieldmask':
      return ((msg[name(type, 1)] as string[]) ?? []).map((p) => p.split('.').map(lowerCamel).join('.')).join(',');
    case 'empty':
      return {};
    case 'any': {
      const url = String(msg[name(type, 1)] ?? '');
      const value = (msg[name(type, 2)] as Uint8Array) ?? new Uint8Array();
      const inner = lookupAny(codec.root, url);
      if (!inner) return { '@type': url, value: Buffer.from(value).toString('base64') };
      const decoded = inner.decode(value) as unknown as Msg;
      const json = codec.toJson(inner, decoded);
      return WELL_KNOWN.has(inner.fullName) ? { '@type': url, value: json } : { '@type': url, ...(json as Msg) };
    }
    default: {
      const scalar = wk.slice('wrapper:'.length);
      return scalarToJson(scalar, msg[name(type, 1)] ?? defaultOf(scalar));
    }
  }
}

export function wellKnownFromJson(codec: MessageCodec, wk: WellKnown, type: protobuf.Type, json: unknown, path: string): Msg {
  const fail = (expected: string): never => {
    throw new TranscodeError(path, `expected ${expected}, got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json === 'string' ? JSON.stringify(json) : typeof json}`);
  };
  switch (wk) {
    case 'timestamp': {
      if (typeof json !== 'string') return fail('an RFC 3339 timestamp string');
      const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/.exec(json);
      if (!m) return fail('an RFC 3339 timestamp like "2024-01-31T12:00:00Z"');
      const d = new Date(0);
      d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
      d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
      if (d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3]) || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return fail('a valid date and time');
      let seconds = Math.floor(d.getTime() / 1000);
      if (m[9]) seconds -= (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 3600 + Number(m[11]) * 60);
      if (seconds < MIN_TS || seconds > MAX_TS) return fail('a timestamp between years 0001 and 9999');
      return { [name(type, 1)]: seconds, [name(type, 2)]: Number((m[7] ?? '').padEnd(9, '0')) };
    }
    case 'duration': {
      if (typeof json !== 'string') return fail('a duration string like "1.5s"');
      const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(json);
      if (!m || Number(m[2]) > MAX_SECONDS) return fail('a duration string like "1.5s" (at most 315576000000s)');
      const sign = m[1] ? -1 : 1;
      const seconds = Number(m[2]) * sign;
      const nanos = Number((m[3] ?? '').padEnd(9, '0')) * sign;
      return { [name(type, 1)]: seconds || 0, [name(type, 2)]: nanos || 0 };
    }
    case 'struct': {
      if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('a JSON object');
      const valueType = type.fieldsById[1].resolvedType as protobuf.Type;
      const fields: Msg = {};
      for (const [k, v] of Object.entries(json)) fields[k] = wellKnownFromJson(codec, 'value', valueType, v, `${path}.${k}`);
      return { [name(type, 1)]: fields };
    }
    case 'list': {
      if (!Array.isArray(json)) return fail('a JSON array');
      const valueType = type.fieldsById[1].resolvedType as protobuf.Type;
      return { [name(type, 1)]: json.map((v, i) => wellKnownFromJson(codec, 'value', valueType, v, `${path}[${i}]`)) };
    }
    case 'value': {
      if (json === null) return { [name(type, 1)]: 0 };
      if (typeof json === 'number') return { [name(type, 2)]: json };
      if (typeof json === 'string') return { [name(type, 3)]: json };
      if (typeof json === 'boolean') return { [name(type, 4)]: json };
      if (Array.isArray(json)) return { [name(type, 6)]: wellKnownFromJson(codec, 'list', type.fieldsById[6].resolvedType as protobuf.Type, json, path) };
      return { [name(type, 5)]: wellKnownFromJson(codec, 'struct', type.fieldsById[5].resolvedType as protobuf.Type, json, path) };
    }
    case 'fieldmask': {
      if (typeof json !== 'string') return fail('a field mask string like "title,author.name"');
      const paths = json === '' ? [] : json.split(',').map((p) => p.trim().split('.').map(snake).join('.'));
      return { [name(type, 1)]: paths };
    }
    case 'empty':
      if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('a JSON object');
      if (Object.keys(json).length > 0) throw new TranscodeError(`${path}.${Object.keys(json)[0]}`, 'no such field in google.protobuf.Empty');
      return {};
    case 'any': {
      if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('a JSON object with "@type"');
      const { '@type': url, ...rest } = json as Msg;
      if (typeof url !== 'string') throw new TranscodeError(`${path}.@type`, 'expected the type URL of the packed message');
      const inner = lookupAny(codec.root, url);
      if (!inner) throw new TranscodeError(`${path}.@type`, `unknown type ${JSON.stringify(url)} (not in the loaded protos)`);
      const body = WELL_KNOWN.has(inner.fullName) ? codec.fromJson(inner, rest.value, `${path}.value`) : codec.fromJson(inner, rest, path);
      return { [name(type, 1)]: url, [name(type, 2)]: inner.encode(body).finish() };
    }
    default:
      return { [name(type, 1)]: scalarFromJson(wk.slice('wrapper:'.length), json, path) };
  }
}

function lookupAny(root: protobuf.Root, url: string): protobuf.Type | undefined {
  const typeName = url.slice(url.lastIndexOf('/') + 1);
  try {
    return root.lookupType(typeName);
  } catch {
    return undefined;
  }
}

/** Fractional seconds as protojson prints them: none, 3, 6 or 9 digits. */
function fraction(nanos: number): string {
  if (!nanos) return '';
  if (nanos % 1_000_000 === 0) return `.${String(nanos / 1_000_000).padStart(3, '0')}`;
  if (nanos % 1000 === 0) return `.${String(nanos / 1000).padStart(6, '0')}`;
  return `.${String(nanos).padStart(9, '0')}`;
}

function defaultOf(scalar: string): unknown {
  if (scalar === 'string') return '';
  if (scalar === 'bool') return false;
  if (scalar === 'bytes') return new Uint8Array();
  return 0;
}

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
