import type { KeyValue } from '../client/etcd-client.ts';
import type { KvMeta, KvValueView } from './api-types.ts';

const HEX_LIMIT = 64 * 1024;

/** Lease ID as etcd's concurrency recipes name it (lowercase hex), or null for no lease. */
export function leaseHex(lease: string): string | null {
  return lease === '0' ? null : BigInt(lease).toString(16);
}

export function kvMeta(kv: KeyValue): KvMeta {
  return { key: kv.key, createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: leaseHex(kv.lease), size: kv.value.length };
}

/**
 * A value decoded for reading: JSON when it parses as JSON, UTF-8 text when the bytes are valid
 * UTF-8 without control characters other than whitespace, otherwise binary. Hex is always given.
 */
export function decodeKv(kv: KeyValue): KvValueView {
  const bytes = kv.value;
  const hexBytes = bytes.subarray(0, HEX_LIMIT);
  const base = { ...kvMeta(kv), hex: hexBytes.toString('hex'), hexTruncated: bytes.length > HEX_LIMIT };
  const text = utf8(bytes);
  if (text === undefined) return { ...base, encoding: 'binary', text: null, json: null };
  if (text.trim() !== '') {
    try {
      return { ...base, encoding: 'json', text, json: JSON.parse(text) as unknown };
    } catch {
      // not JSON: plain text
    }
  }
  return { ...base, encoding: 'utf8', text, json: null };
}

function utf8(bytes: Buffer): string | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  return /[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(text) ? undefined : text;
}
