// Shared scaffolding for test/conformance: one fresh backend per describe, a raw client on it,
// unique key prefixes, and compact views of wire messages so assertions read like etcd's docs.
import { after, before } from 'node:test';
import type { Backend, BackendOptions, RunningBackend } from './backends.ts';
import {
  RawClient,
  type DeleteRangeRequest,
  type Event,
  type KeyValue,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  type ResponseHeader,
} from './raw-client.ts';

export interface Fixture {
  /** A client connected to this describe's backend; closed after the suite. */
  readonly client: RawClient;
  readonly endpoint: string;
  /** Another client on the same backend (closed with the suite), e.g. for a second watch stream. */
  newClient(): RawClient;
  /** A key prefix no other test in this suite uses: `t<n>-<name>/`. */
  prefix(name: string): string;
}

/** Starts `backend` before the enclosing describe's tests and stops it after them. */
export function useBackend(backend: Backend, options?: BackendOptions): Fixture {
  let running: RunningBackend | undefined;
  let client: RawClient | undefined;
  const extra: RawClient[] = [];
  let counter = 0;

  before(async () => {
    running = await backend.start(options);
    client = new RawClient(running.endpoint);
  });
  after(async () => {
    for (const c of extra) c.close();
    client?.close();
    await running?.stop();
  });

  return {
    get client() {
      if (!client) throw new Error(`${backend.name} did not start`);
      return client;
    },
    get endpoint() {
      if (!running) throw new Error(`${backend.name} did not start`);
      return running.endpoint;
    },
    newClient() {
      if (!running) throw new Error(`${backend.name} did not start`);
      const c = new RawClient(running.endpoint);
      extra.push(c);
      return c;
    },
    prefix(name: string) {
      counter += 1;
      return `t${String(counter).padStart(2, '0')}-${name}/`;
    },
  };
}

export interface KvView {
  key: string;
  value: string;
  create_revision: number;
  mod_revision: number;
  version: number;
  lease: string;
}

export function kvView(kv: KeyValue): KvView {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    create_revision: Number(kv.create_revision),
    mod_revision: Number(kv.mod_revision),
    version: Number(kv.version),
    lease: kv.lease,
  };
}

export function keys(kvs: KeyValue[]): string[] {
  return kvs.map((kv) => kv.key.toString());
}

export interface EventView {
  type: 'PUT' | 'DELETE';
  key: string;
  value: string;
  mod_revision: number;
  prev_value?: string;
}

export function eventView(event: Event): EventView {
  const kv = event.kv;
  if (!kv) throw new Error('event without kv');
  const view: EventView = {
    type: event.type === 1 ? 'DELETE' : 'PUT',
    key: kv.key.toString(),
    value: kv.value.toString(),
    mod_revision: Number(kv.mod_revision),
  };
  if (event.prev_kv) view.prev_value = event.prev_kv.value.toString();
  return view;
}

export function rev(header: ResponseHeader | null): number {
  if (!header) throw new Error('response has no header');
  return Number(header.revision);
}

/** Txn operations: `op.put(key, value?, extra?)`, `op.get(key, extra?)`, `op.del(key, extra?)`. */
export const op = {
  put: (key: string, value = 'v', extra: Partial<PutRequest> = {}): RequestOp => ({
    request_put: { key, value, ...extra },
  }),
  get: (key: string, extra: Partial<RangeRequest> = {}): RequestOp => ({ request_range: { key, ...extra } }),
  del: (key: string, extra: Partial<DeleteRangeRequest> = {}): RequestOp => ({
    request_delete_range: { key, ...extra },
  }),
};

/** The exclusive end of the range holding every key that starts with `prefix` (etcd's prefix form). */
export function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      bytes[i] += 1;
      return bytes.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 10_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
