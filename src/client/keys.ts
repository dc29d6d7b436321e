import type { KeyValueMsg } from '../protocol/etcd-types.ts';

/** An etcd key-value pair with its revisions, version and lease (etcd's mvccpb.KeyValue, key decoded as UTF-8). */
export interface KeyValue {
  key: string;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  /** Lease ID as a decimal string; '0' for none. */
  lease: string;
}

/** The key one past every key with `prefix` (etcd's prefix range end); '\0' for an empty prefix. */
export function prefixEnd(prefix: string | Buffer): Buffer {
  const buf = Buffer.from(typeof prefix === 'string' ? Buffer.from(prefix) : prefix);
  for (let i = buf.length - 1; i >= 0; i--) {
    if (buf[i] < 0xff) {
      buf[i]++;
      return buf.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

export function toKeyValue(m: KeyValueMsg): KeyValue {
  return {
    key: m.key.toString(),
    value: m.value,
    createRevision: Number(m.create_revision),
    modRevision: Number(m.mod_revision),
    version: Number(m.version),
    lease: String(m.lease),
  };
}

