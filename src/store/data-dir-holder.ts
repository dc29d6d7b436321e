// What every data-dir lock mechanism shares: the held lock's interface, the refusal error, and
// how a refused store names the holder.

/** Who holds a data dir, as the holder records it for a store that wants the same dir. */
export interface DataDirHolder {
  pid: number;
  host: string;
  /** host:port it serves, once known. */
  endpoint: string;
  since: string;
}

export class DataDirError extends Error {
  readonly brand = 'coord.DataDirError' as const;
}

/** A held data-dir lock; `release()` lets another store have the dir. */
export interface DataDirLock {
  /** Called once the store knows its endpoint, so a refused store can name it. */
  setEndpoint(endpoint: string): void;
  /**
   * Resolves if the lock goes while still held (its holder process was killed on its own): the
   * store must stop writing at once, since another store may now take the dir. Never resolves
   * after `release()`.
   */
  readonly lost: Promise<Error>;
  release(): Promise<void>;
}

/** The holder as one phrase: `pid 12 on host serving 127.0.0.1:2379, since <time>`. */
export function holderText(h: DataDirHolder): string {
  const on = h.host ? ` on ${h.host}` : '';
  const serving = h.endpoint ? ` serving ${h.endpoint}` : '';
  return `pid ${h.pid}${on}${serving}, since ${h.since}`;
}
