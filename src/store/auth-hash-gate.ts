import { isIP } from 'node:net';
import { Errors } from './errors.ts';

/** Options for {@link HashGate}; defaults in each field's doc. */
export interface HashGateOptions {
  /**
   * Password hashes run at once. Default 1: each scrypt holds one thread of libuv's pool (4 by
   * default) for its whole run, and the log's write and fdatasync run on that pool too; with one
   * hash at a time they always find a free thread.
   */
  concurrency?: number;
  /** Authenticate calls one peer may have running or waiting; more are refused at once. Default 8. */
  perPeer?: number;
  /** Authenticate calls waiting for a hash, from all peers; more are refused at once. Default 64. */
  maxWaiting?: number;
}

/**
 * The gate every password hash of coord store passes: at most `concurrency` run at once, the rest
 * wait, served one peer after another (round robin; each peer's own calls in arrival order), so a
 * flooding peer delays another peer's login by about one hash, not by its whole queue. An
 * Authenticate (anyone may send one) names its peer: a peer with `perPeer` calls outstanding, or
 * a full queue, gets etcd's `too many requests` (RESOURCE_EXHAUSTED) at once, so a flood costs the
 * store a bounded queue and one pool thread. Admin calls (UserAdd, UserChangePassword) name no
 * peer: they share one turn and only wait for a slot.
 */
export class HashGate {
  private readonly concurrency: number;
  private readonly perPeer: number;
  private readonly maxWaiting: number;
  private running = 0;
  /** Waiting calls per peer; the map's order is the turn order (a peer just served goes last). */
  private readonly queues = new Map<string, Array<() => void>>();
  private waiting = 0;
  private readonly outstanding = new Map<string, number>();

  constructor(options: HashGateOptions = {}) {
    this.concurrency = options.concurrency ?? 1;
    this.perPeer = options.perPeer ?? 8;
    this.maxWaiting = options.maxWaiting ?? 64;
    for (const [name, v] of Object.entries({ concurrency: this.concurrency, perPeer: this.perPeer, maxWaiting: this.maxWaiting })) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`HashGate: ${name} must be a positive integer, got ${v}`);
    }
  }

  /** Hashes running now and waiting, for tests and logs. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting };
  }

  /** Runs `hash` once a slot is free; `peer` (an address as grpc-js reports it) is limited as the class says. */
  async run<T>(peer: string | undefined, hash: () => Promise<T>): Promise<T> {
    const key = peer === undefined ? undefined : peerKey(peer);
    if (key !== undefined) {
      const n = this.outstanding.get(key) ?? 0;
      if (n >= this.perPeer || (this.running >= this.concurrency && this.waiting >= this.maxWaiting)) throw Errors.tooManyRequests();
      this.outstanding.set(key, n + 1);
    }
    try {
      if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.enqueue(key ?? ADMIN, resolve));
      else this.running++;
      try {
        return await hash();
      } finally {
        // The slot passes straight to the next in turn, so `running` never dips and lets a newcomer jump the queue.
        const next = this.dequeue();
        if (next) next();
        else this.running--;
      }
    } finally {
      if (key !== undefined) {
        const n = this.outstanding.get(key)! - 1;
        if (n === 0) this.outstanding.delete(key);
        else this.outstanding.set(key, n);
      }
    }
  }

  private enqueue(key: string, wake: () => void): void {
    const q = this.queues.get(key);
    if (q) q.push(wake);
    else this.queues.set(key, [wake]);
    this.waiting++;
  }

  private dequeue(): (() => void) | undefined {
    for (const [key, q] of this.queues) {
      const wake = q.shift()!;
      this.queues.delete(key);
      if (q.length > 0) this.queues.set(key, q); // to the back of the turn order
      this.waiting--;
      return wake;
    }
    return undefined;
  }
}

const ADMIN = 'admin calls';

/**
 * What counts as one peer: its IP address without the port, an IPv4-mapped IPv6 address as the
 * IPv4 one, and an IPv6 address by its /64 (a host usually holds a whole /64, so counting single
 * addresses would let one host be many peers).
 */
export function peerKey(peer: string): string {
  const host = isIP(peer) ? peer : peer.replace(/^\[?(.*?)\]?:\d+$/, '$1');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped) return mapped[1];
  if (isIP(host) !== 6) return host;
  const [head, tail = ''] = host.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = host.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
