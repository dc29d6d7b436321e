// The inventory's storage: stock per SKU in the store, changed only while holding the SKU's coord
// lock. Every write is one txn that also checks the lock's fencing token against the last token
// stored for the SKU, so a holder that lost its lock without noticing (a long GC pause, SIGSTOP)
// cannot overwrite what a newer holder wrote: its txn fails instead. The mod-revision compare
// makes each write a compare-and-swap on what was read, so stock never goes below zero.
//
// Keys (under `<coord namespace>shop/`):
//   stock/<sku>             available quantity, decimal
//   stock-fence/<sku>       fencing token of the last writer, zero-padded to 20 digits (compares as bytes)
//   reservations/<order>    {"items":[{"sku","quantity"}],"released":false}
import * as grpc from '@grpc/grpc-js';
import { compare, op, type Coord, type KeyValue, type LockHandle } from 'etcd-coord';
import { grpcError, type Item } from './proto.ts';

export interface StoredReservation {
  items: Item[];
  released: boolean;
}

/** How long a crashed holder blocks a SKU, seconds (etcd's minimum lease is 2 s). */
const LOCK_TTL = 5;
const pad = (token: number) => String(token).padStart(20, '0');

export class StockStore {
  constructor(
    private readonly coord: Coord,
    private readonly data: string,
  ) {}

  private stockKey = (sku: string) => `${this.data}stock/${sku}`;
  private fenceKey = (sku: string) => `${this.data}stock-fence/${sku}`;
  private reservationKey = (orderId: string) => `${this.data}reservations/${orderId}`;

  /** Creates the SKUs that do not exist yet (safe to run from every instance, at every start). */
  async seed(initial: Record<string, number>): Promise<void> {
    for (const [sku, available] of Object.entries(initial)) {
      await this.coord.etcd.txn({
        compare: [compare.createRevision(this.stockKey(sku), '=', 0)],
        success: [op.put(this.stockKey(sku), String(available)), op.put(this.fenceKey(sku), pad(0))],
      });
    }
  }

  async get(sku: string, signal?: AbortSignal): Promise<{ available: number; fencingToken: number } | undefined> {
    const r = await this.coord.etcd.txn({ success: [op.get(this.stockKey(sku)), op.get(this.fenceKey(sku))] }, { signal });
    const [stock, fence] = r.responses.map((x) => x.kvs?.[0]);
    return stock && { available: Number(stock.value), fencingToken: Number(fence?.value ?? 0) };
  }

  async reservation(orderId: string, signal?: AbortSignal): Promise<StoredReservation | undefined> {
    const kv = await this.coord.etcd.get(this.reservationKey(orderId), { signal });
    return kv && JSON.parse(kv.value.toString());
  }

  /** Takes `items` out of stock for `orderId`, all or nothing; a second call for the same order returns the first's result. */
  async reserve(orderId: string, items: Item[], signal: AbortSignal): Promise<StoredReservation> {
    const wanted = merge(items);
    const done = await this.reservation(orderId, signal);
    if (done) return done;
    return this.withLocks([...wanted.keys()], signal, async (tokens) => {
      const rows = await this.read([...wanted.keys()], signal);
      for (const [sku, quantity] of wanted) {
        const row = rows.get(sku);
        if (!row) throw grpcError(grpc.status.NOT_FOUND, `unknown sku ${JSON.stringify(sku)}`);
        if (Number(row.value) < quantity) throw grpcError(grpc.status.FAILED_PRECONDITION, `out of stock: ${sku} has ${Number(row.value)}, ${quantity} wanted`);
      }
      const reservation: StoredReservation = { items: [...wanted].map(([sku, quantity]) => ({ sku, quantity })), released: false };
      await this.write(orderId, rows, tokens, (sku, available) => available - wanted.get(sku)!, reservation, 0, signal);
      return reservation;
    });
  }

  /** Puts an order's stock back (idempotent); undefined when the order reserved nothing. */
  async release(orderId: string, signal: AbortSignal): Promise<StoredReservation | undefined> {
    const first = await this.reservation(orderId, signal);
    if (!first || first.released) return first;
    const skus = first.items.map((i) => i.sku);
    return this.withLocks(skus, signal, async (tokens) => {
      const kv = await this.coord.etcd.get(this.reservationKey(orderId), { signal });
      const current: StoredReservation = JSON.parse(kv!.value.toString());
      if (current.released) return current;
      const quantities = new Map(current.items.map((i) => [i.sku, i.quantity]));
      const released = { ...current, released: true };
      await this.write(orderId, await this.read(skus, signal), tokens, (sku, available) => available + quantities.get(sku)!, released, kv!.modRevision, signal);
      return released;
    });
  }

  private async read(skus: string[], signal: AbortSignal): Promise<Map<string, KeyValue>> {
    const r = await this.coord.etcd.txn({ success: skus.map((sku) => op.get(this.stockKey(sku))) }, { signal });
    const rows = new Map<string, KeyValue>();
    skus.forEach((sku, i) => {
      const kv = r.responses[i].kvs?.[0];
      if (kv) rows.set(sku, kv);
    });
    return rows;
  }

  /**
   * One txn: the new stock of every SKU, each write fenced (stored token ≤ ours) and compared
   * against the row as read, plus the reservation record (compared against `reservationRevision`,
   * 0 = must not exist yet).
   */
  private async write(
    orderId: string,
    rows: Map<string, KeyValue>,
    tokens: Map<string, number>,
    next: (sku: string, available: number) => number,
    reservation: StoredReservation,
    reservationRevision: number,
    signal: AbortSignal,
  ): Promise<void> {
    const resKey = this.reservationKey(orderId);
    const r = await this.coord.etcd.txn(
      {
        compare: [
          reservationRevision ? compare.modRevision(resKey, '=', reservationRevision) : compare.createRevision(resKey, '=', 0),
          ...[...rows].flatMap(([sku, kv]) => [compare.modRevision(kv.key.toString(), '=', kv.modRevision), compare.value(this.fenceKey(sku), '<', pad(tokens.get(sku)! + 1))]),
        ],
        success: [
          ...[...rows].flatMap(([sku, kv]) => [op.put(kv.key.toString(), String(next(sku, Number(kv.value)))), op.put(this.fenceKey(sku), pad(tokens.get(sku)!))]),
          op.put(resKey, JSON.stringify(reservation)),
        ],
      },
      { signal },
    );
    if (!r.succeeded) throw grpcError(grpc.status.ABORTED, `stock of order ${orderId} changed while writing (a lock was lost and a newer holder wrote first); retry`);
  }

  /** Runs `fn` holding the lock of every SKU (taken in sorted order, so two orders never deadlock), with their fencing tokens. */
  private async withLocks<T>(skus: string[], signal: AbortSignal, fn: (tokens: Map<string, number>) => Promise<T>): Promise<T> {
    const held: LockHandle[] = [];
    try {
      for (const sku of [...new Set(skus)].sort()) held.push(await this.coord.lock(`shop/sku/${sku}`, { ttl: LOCK_TTL, signal }));
      return await fn(new Map(held.map((h) => [h.name.slice('shop/sku/'.length), h.fencingToken])));
    } finally {
      await Promise.all(held.map((h) => h.release().catch(() => {})));
    }
  }
}

/** Quantities per SKU (an order may list a SKU twice); rejects empty or zero-quantity items. */
function merge(items: Item[]): Map<string, number> {
  if (!items.length) throw grpcError(grpc.status.INVALID_ARGUMENT, 'an order needs at least one item');
  const out = new Map<string, number>();
  for (const { sku, quantity } of items) {
    if (!sku || !(quantity > 0)) throw grpcError(grpc.status.INVALID_ARGUMENT, `every item needs a sku and a quantity > 0, got ${JSON.stringify({ sku, quantity })}`);
    out.set(sku, (out.get(sku) ?? 0) + quantity);
  }
  return out;
}
