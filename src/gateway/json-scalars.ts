// proto3 JSON for scalar fields: parsing JSON (or path/query text) into the values protobufjs
// encodes, and formatting decoded values back. Wrong types throw a TranscodeError naming the field.
import protobuf from 'protobufjs';
import { CoordError } from '../core/errors.ts';

/** A request the gateway cannot transcode: answered 400 INVALID_ARGUMENT with this message. */
export class TranscodeError extends CoordError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('invalid-argument', field ? `invalid value for field "${field}": ${message}` : message);
  }
}

const INT32: Record<string, [number, number]> = {
  int32: [-2147483648, 2147483647],
  sint32: [-2147483648, 2147483647],
  sfixed32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  fixed32: [0, 4294967295],
};
const INT64 = new Set(['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']);
const UNSIGNED64 = new Set(['uint64', 'fixed64']);
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

export const isInt64 = (type: string) => INT64.has(type);

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/**
 * A scalar from JSON (or, with `fromText`, from a path/query string, where `"true"` and `5` are
 * written as text) in the form protobufjs `encode` takes: numbers, `{ low, high }` for 64-bit
 * integers, Buffers for bytes.
 */
export function scalarFromJson(type: string, v: unknown, field: string, fromText = false): unknown {
  const fail = (expected: string): never => {
    throw new TranscodeError(field, `expected ${expected}, got ${describe(v)}`);
  };
  switch (type) {
    case 'string':
      return typeof v === 'string' ? v : fail('a string');
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (fromText && (v === 'true' || v === 'false')) return v === 'true';
      return fail('true or false');
    case 'bytes': {
      if (typeof v !== 'string') return fail('a base64 string');
      if (!/^[A-Za-z0-9+/\-_]*={0,2}$/.test(v)) return fail('a base64 string');
      return Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    }
    case 'double':
    case 'float': {
      let n: number;
      if (typeof v === 'number') n = v;
      else if (v === 'NaN') return NaN;
      else if (v === 'Infinity') return Infinity;
      else if (v === '-Infinity') return -Infinity;
      else if (typeof v === 'string' && v.trim() !== '' && /^[-+0-9.eE]+$/.test(v)) n = Number(v);
      else return fail('a number');
      if (!Number.isFinite(n)) return fail('a number');
      if (type === 'float' && Math.abs(n) > 3.4028234663852886e38) return fail('a number in float range');
      return n;
    }
  }
  const range = INT32[type];
  if (range) {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(\.0+)?([eE]\+?\d+)?$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < range[0] || n > range[1]) return fail(`an integer (${type})`);
    return n;
  }
  if (INT64.has(type)) {
    let b: bigint;
    if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
    else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) b = BigInt(v);
    else return fail(`an integer (${type}, as a string or a number)`);
    const unsigned = UNSIGNED64.has(type);
    if (unsigned ? b < 0n || b > U64_MAX : b < I64_MIN || b > I64_MAX) return fail(`an integer in ${type} range`);
    const bits = BigInt.asUintN(64, b);
    return { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0, unsigned };
  }
  throw new CoordError('internal', `gateway: unknown scalar type ${type}`);
}

/** A decoded scalar as proto3 JSON: 64-bit integers as strings, bytes as base64, non-finite floats as strings. */
export function scalarToJson(type: string, v: unknown): unknown {
  switch (type) {
    case 'double':
      return Number.isFinite(v as number) ? v : String(v);
    case 'float':
      return Number.isFinite(v as number) ? shortestFloat(v as number) : String(v);
    case 'bytes':
      return Buffer.from((v as Uint8Array) ?? []).toString('base64');
    case 'int64':
    case 'sint64':
    case 'sfixed64':
    case 'uint64':
    case 'fixed64':
      return longToString(v, UNSIGNED64.has(type));
    default:
      return v;
  }
}

/** A 64-bit value from protobufjs (Long, number, or the 8-char hash it uses for map keys) as a decimal string. */
export function longToString(v: unknown, unsigned: boolean): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v.length === 8 && !/^-?\d+$/.test(v) ? protobuf.util.longFromHash(v, unsigned).toString() : v;
  const l = v as { low: number; high: number; unsigned?: boolean; toString?: () => string };
  const bits = (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
  return (unsigned ? bits : BigInt.asIntN(64, bits)).toString();
}

/** The shortest decimal that reads back as the same 32-bit float (1.1, not 1.100000023841858). */
function shortestFloat(v: number): number {
  for (let p = 1; p <= 9; p++) {
    const c = Number(v.toPrecision(p));
    if (Math.fround(c) === v) return c;
  }
  return v;
}

/** proto3's JSON name for a field: `page_size` → `pageSize`. */
export function lowerCamel(name: string): string {
  return name.replace(/_+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}
