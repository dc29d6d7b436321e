/** Options for {@link startStore}; defaults in each field's doc. */
export interface StoreOptions {
  /** host:port to serve on. Default `127.0.0.1:2379`; port 0 picks a free port. */
  listen?: string;
  /** Directory for the write-ahead log and snapshots. Omit for an in-memory store. */
  dataDir?: string;
  /** TLS: PEM cert and key; with `ca`, clients must present a certificate signed by it. */
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer };
  /** Largest request accepted, in bytes. Default 1.5 MiB, as etcd. */
  maxRequestBytes?: number;
  /** Most operations in one Txn branch or compare list. Default 128, as etcd. */
  maxTxnOps?: number;
}

export interface StoreHandle {
  /** `host:port` clients connect to. */
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startStore(_options: StoreOptions = {}): Promise<StoreHandle> {
  throw new Error('coord store: not implemented yet');
}
