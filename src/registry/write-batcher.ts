import type { EtcdClient, TxnResult } from '../client/etcd-client.ts';
import type { RequestOp } from '../protocol/etcd-types.ts';

/** etcd's default `--max-txn-ops`; lowered for a server that refuses it (see below). */
const MAX_OPS = 128;
/** Well under etcd's default `--max-request-bytes` (1.5 MiB). */
const MAX_BYTES = 512 * 1024;

interface Entry {
  ops: RequestOp[];
  resolve(r: { revision: number; responses: TxnResult['responses'] }): void;
  reject(e: unknown): void;
}

interface Batch {
  signal: AbortSignal;
  entries: Entry[];
  keys: Set<string>;
  ops: number;
  bytes: number;
}

/**
 * The registrations of one client write their records through this: writes made in the same tick
 * under the same lease (one session's signal) go to etcd as one txn of up to 128 operations, as
 * etcd's `endpoints.Manager.Update` does for a batch of endpoints. 10,000 register() calls are then
 * ~80 txns instead of 10,000, and so is the re-registration after a lost lease; the client also
 * allocates a gRPC call per batch instead of per instance, which is most of what a registration
 * burst costs in memory. Each caller gets the txn's revision and its own operations' responses.
 *
 * A batch that fails for a reason that is not the batch's alone (unreachable etcd, a lost lease,
 * an abort) fails every caller, who retries as before. Any other failure (a permission, a value too
 * large) is retried once per caller on its own, so the error reaches the write that caused it and
 * the others succeed. A server that refuses the batch's size (`--max-txn-ops` below 128) gets
 * smaller batches from then on.
 */
export class WriteBatcher {
  private open: Batch | undefined;
  private maxOps = MAX_OPS;

  constructor(
    private readonly client: EtcdClient,
    private readonly log: (line: string) => void,
  ) {}

  /** Runs `ops` (puts and single-key deletes of distinct keys) in a txn, with other callers' ops of the same tick and signal. */
  txn(ops: RequestOp[], signal: AbortSignal): Promise<{ revision: number; responses: TxnResult['responses'] }> {
    const keys = ops.map(keyOf);
    const bytes = ops.reduce((n, o) => n + sizeOf(o), 0);
    let batch = this.open;
    const fits =
      batch !== undefined &&
      batch.signal === signal &&
      batch.ops + ops.length <= this.maxOps &&
      batch.bytes + bytes <= MAX_BYTES &&
      // etcd refuses a txn that names a key twice.
      keys.every((k) => !batch!.keys.has(k));
    if (!fits) {
      if (batch) this.flush(batch);
      batch = { signal, entries: [], keys: new Set(), ops: 0, bytes: 0 };
      this.open = batch;
      const b = batch;
      setImmediate(() => this.flush(b));
    }
    const b = batch!;
    for (const k of keys) b.keys.add(k);
    b.ops += ops.length;
    b.bytes += bytes;
    return new Promise((resolve, reject) => {
      b.entries.push({ ops, resolve, reject });
      if (b.ops >= this.maxOps) this.flush(b);
    });
  }

  private flush(batch: Batch): void {
    if (this.open === batch) this.open = undefined;
    if (batch.entries.length === 0) return;
    const entries = batch.entries.splice(0);
    void this.run(entries, batch.signal);
  }

  private async run(entries: Entry[], signal: AbortSignal): Promise<void> {
    const ops = entries.flatMap((e) => e.ops);
    try {
      const r = await this.client.txn({ success: ops }, { signal });
      let at = 0;
      for (const e of entries) {
        e.resolve({ revision: r.revision, responses: r.responses.slice(at, at + e.ops.length) });
        at += e.ops.length;
      }
    } catch (err) {
      const e = err as { recoverable?: boolean; code?: string; message?: string };
      const shared =
        entries.length === 1 || signal.aborted || e.recoverable === true || ['lease-not-found', 'lease-lost', 'closed', 'aborted'].includes(e.code ?? '');
      if (shared) {
        for (const x of entries) x.reject(err);
        return;
      }
      if (/too many operations/i.test(e.message ?? '') && this.maxOps > 1) {
        this.maxOps = Math.max(1, Math.floor(ops.length / 2));
        this.log(`registry: etcd refused a txn of ${ops.length} operations (${e.message}); writing at most ${this.maxOps} per txn from now on`);
      }
      // Not the batch's alone: each write again by itself, so the error lands where it belongs.
      await Promise.all(
        entries.map((x) =>
          this.client.txn({ success: x.ops }, { signal }).then(
            (r) => x.resolve({ revision: r.revision, responses: r.responses }),
            (e2: unknown) => x.reject(e2),
          ),
        ),
      );
    }
  }
}

function keyOf(o: RequestOp): string {
  const r = o as unknown as { request_put?: { key: Buffer }; request_delete_range?: { key: Buffer } };
  return (r.request_put?.key ?? r.request_delete_range?.key ?? Buffer.alloc(0)).toString('latin1');
}

function sizeOf(o: RequestOp): number {
  const r = o as unknown as { request_put?: { key: Buffer; value: Buffer }; request_delete_range?: { key: Buffer } };
  return 32 + (r.request_put ? r.request_put.key.length + r.request_put.value.length : (r.request_delete_range?.key.length ?? 0));
}

const batchers = new WeakMap<EtcdClient, WriteBatcher>();

/** The write batcher of `client` (one per client). */
export function writeBatcher(client: EtcdClient, log: (line: string) => void): WriteBatcher {
  let b = batchers.get(client);
  if (!b) batchers.set(client, (b = new WriteBatcher(client, log)));
  return b;
}
