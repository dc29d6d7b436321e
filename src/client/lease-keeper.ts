import type * as grpc from '@grpc/grpc-js';
import { Backoff } from '../core/backoff.ts';
import { isCoordError } from '../core/errors.ts';
import { closeStream } from './stream-close.ts';
import type { EtcdClient } from './etcd-client.ts';

/** Called with each keepalive answer for a lease: the TTL granted (≤ 0: gone) and when the request was sent. */
export type KeepAliveAnswer = (ttl: number, sentAt: number) => void;

/** One lease kept alive by a {@link LeaseKeeper}; dispose() stops its keepalives. */
export interface KeptLease {
  dispose(): void;
  /**
   * The lease's answers are late although etcd says it still holds the lease: reopen the stream
   * if it has been silent for longer than the lease's keepalive interval (it may be stuck).
   */
  nudge(): void;
}

interface Kept {
  lease: string;
  intervalMs: number;
  nextAt: number;
  /** Send times of the unanswered keepalives, oldest first (etcd answers a lease's in order). */
  sent: number[];
  onAnswer: KeepAliveAnswer;
}

/** How often the keeper looks for leases whose keepalive is due. */
const TICK_MS = 250;

/**
 * All of a client's keepalives on ONE LeaseKeepAlive stream, as etcd's Go client does: each lease
 * is renewed every third of its TTL and answers are routed by lease ID. The stream is opened when
 * the first lease is kept, reopened with backoff when it breaks, and closed with the last lease.
 * Deciding whether a lease is lost is the owner's job (Session's deadline).
 */
export class LeaseKeeper {
  private readonly kept = new Map<string, Kept>();
  private stream: grpc.ClientDuplexStream<unknown, unknown> | undefined;
  private opening = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ initialMs: 100, maxMs: 1000 });
  private lastHeard = 0;
  /** Streams opened so far (the bench and tests read it: one per client, plus reconnects). */
  streamsOpened = 0;

  constructor(private readonly client: EtcdClient) {}

  /** Starts keeping `lease` (TTL `ttl` seconds) alive; the first keepalive goes out at once. */
  keep(lease: string, ttl: number, onAnswer: KeepAliveAnswer): KeptLease {
    const k: Kept = { lease, intervalMs: Math.max(500, (ttl * 1000) / 3), nextAt: 0, sent: [], onAnswer };
    this.kept.set(lease, k);
    if (this.stream) this.send(k);
    else this.open();
    this.timer ??= setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    return {
      dispose: () => {
        if (this.kept.get(lease) !== k) return;
        this.kept.delete(lease);
        if (this.kept.size === 0) this.stop();
      },
      nudge: () => {
        if (this.stream && performance.now() - this.lastHeard > k.intervalMs) this.broken(this.stream);
      },
    };
  }

  /** Leases kept alive right now. */
  get size(): number {
    return this.kept.size;
  }

  private tick(): void {
    if (!this.stream) return;
    const now = performance.now();
    for (const k of this.kept.values()) if (now >= k.nextAt) this.send(k);
  }

  private send(k: Kept): void {
    const now = performance.now();
    k.nextAt = now + k.intervalMs;
    k.sent.push(now);
    this.stream!.write({ ID: k.lease });
  }

  private open(): void {
    if (this.opening || this.stream || this.kept.size === 0) return;
    this.opening = true;
    this.client.stream('LeaseKeepAlive').then(
      (s) => {
        this.opening = false;
        if (this.kept.size === 0) {
          closeStream(s);
          return;
        }
        this.stream = s;
        this.streamsOpened++;
        this.lastHeard = performance.now();
        s.on('data', (r: { ID: string; TTL: string }) => this.onAnswer(r));
        s.on('error', () => this.broken(s));
        s.on('end', () => this.broken(s));
        for (const k of this.kept.values()) this.send(k);
      },
      (e: unknown) => {
        this.opening = false;
        // A closed client ends the keeper: its owners' deadlines report the loss.
        if (!isCoordError(e, 'closed')) this.broken(undefined);
      },
    );
  }

  private onAnswer(r: { ID: string; TTL: string }): void {
    this.lastHeard = performance.now();
    this.backoff.reset();
    const k = this.kept.get(String(r.ID));
    if (!k) return;
    const sentAt = k.sent.shift() ?? performance.now();
    k.onAnswer(Number(r.TTL), sentAt);
  }

  private broken(s: grpc.ClientDuplexStream<unknown, unknown> | undefined): void {
    if (s && s !== this.stream) return;
    if (s) {
      this.stream = undefined;
      closeStream(s);
    }
    for (const k of this.kept.values()) k.sent.length = 0;
    if (this.kept.size > 0) setTimeout(() => this.open(), this.backoff.next()).unref();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    const s = this.stream;
    this.stream = undefined;
    if (s) closeStream(s);
  }
}

const keepers = new WeakMap<EtcdClient, LeaseKeeper>();

/** The lease keeper of `client` (one per client, so one LeaseKeepAlive stream per client). */
export function leaseKeeper(client: EtcdClient): LeaseKeeper {
  let k = keepers.get(client);
  if (!k) keepers.set(client, (k = new LeaseKeeper(client)));
  return k;
}
