// A TCP proxy on loopback that sits between a client and a server and injects network faults,
// switchable at runtime: pass, blackhole, reset, delay(ms). Integration tests point the client
// under test at `proxy.endpoint` and keep admin/verification clients on the server directly.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type FaultMode = { kind: 'pass' } | { kind: 'blackhole' } | { kind: 'reset' } | { kind: 'delay'; ms: number };

const END = Symbol('end');
type Item = Buffer | typeof END;

/** One direction of a proxied connection: forwards chunks in order, optionally late. */
class Pipe {
  private queue: Array<{ at: number; item: Item }> = [];
  private lastAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly to: Socket) {}

  send(item: Item, delayMs: number): void {
    if (delayMs <= 0 && this.queue.length === 0) return this.deliver(item);
    // A chunk never overtakes an earlier one, even when the delay shrinks in between.
    this.lastAt = Math.max(performance.now() + delayMs, this.lastAt);
    this.queue.push({ at: this.lastAt, item });
    this.arm();
  }

  /** Forgets queued chunks; true if there were any (the byte stream now has a gap). */
  drop(): boolean {
    clearTimeout(this.timer);
    this.timer = undefined;
    const had = this.queue.length > 0;
    this.queue = [];
    return had;
  }

  private arm(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => this.flush(), Math.max(0, this.queue[0].at - performance.now()));
  }

  private flush(): void {
    this.timer = undefined;
    const now = performance.now();
    // Timers may fire up to ~1 ms early relative to performance.now().
    while (this.queue.length > 0 && this.queue[0].at <= now + 1) this.deliver(this.queue.shift()!.item);
    this.arm();
  }

  private deliver(item: Item): void {
    if (this.to.destroyed) return;
    if (item === END) this.to.end();
    else this.to.write(item);
  }
}

/** A client connection and its upstream connection to the server. */
class Link {
  readonly toServer: Pipe;
  readonly toClient: Pipe;
  /**
   * Bytes (or a FIN) were dropped: the stream has a gap no real TCP connection would have — TCP
   * either retransmits or the connection dies — so the link is reset when the blackhole lifts.
   */
  gap = false;

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
  ) {
    this.toServer = new Pipe(upstream);
    this.toClient = new Pipe(client);
  }

  /** Tears both sides down with a TCP RST. */
  reset(): void {
    this.toServer.drop();
    this.toClient.drop();
    for (const s of [this.client, this.upstream]) if (!s.destroyed) s.resetAndDestroy();
  }
}

/**
 * Modes:
 * - `pass`: bytes flow untouched.
 * - `blackhole`: sockets stay open and every byte (and FIN) either way is silently dropped; nothing
 *   errors, as with a dead route or a stuck middlebox. New connections are accepted and swallowed
 *   too. Leaving the blackhole resets the connections that lost bytes (see {@link Link.gap}); the
 *   others carry on.
 * - `reset`: every open connection is torn down with an RST, and new ones are reset on accept.
 * - `delay(ms)`: each chunk is forwarded `ms` late, in order (both directions: round trips grow by 2×ms).
 *
 * There is no backpressure: it is meant for test-sized traffic.
 */
export class FaultProxy {
  private current: FaultMode = { kind: 'pass' };
  private readonly links = new Set<Link>();
  /** Connections accepted so far (including ones reset on arrival). */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    /** `127.0.0.1:port` to give the client instead of the server's endpoint. */
    readonly endpoint: string,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (s) => this.onConnection(s));
  }

  /** Starts a proxy to `target` (`host:port`) on a free loopback port, in `pass` mode. */
  static async start(target: string): Promise<FaultProxy> {
    const m = /^(.*):(\d+)$/.exec(target.replace(/^[a-z]+:\/\//, ''));
    if (!m) throw new Error(`fault proxy: bad target ${target}`);
    // Half-open allowed on both sides, so a FIN is forwarded (or swallowed) like any other byte.
    const server = createServer({ noDelay: true, allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as { port: number };
    return new FaultProxy(server, `127.0.0.1:${port}`, { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) });
  }

  get mode(): FaultMode {
    return this.current;
  }

  /** Open proxied connections. */
  get connections(): number {
    return this.links.size;
  }

  pass(): void {
    this.heal({ kind: 'pass' });
  }

  delay(ms: number): void {
    this.heal({ kind: 'delay', ms });
  }

  blackhole(): void {
    this.current = { kind: 'blackhole' };
    for (const l of this.links) {
      const droppedToServer = l.toServer.drop();
      const droppedToClient = l.toClient.drop();
      if (droppedToServer || droppedToClient) l.gap = true;
    }
  }

  reset(): void {
    this.current = { kind: 'reset' };
    for (const l of [...this.links]) this.kill(l);
  }

  /** Stops listening and resets every connection. */
  async close(): Promise<void> {
    this.current = { kind: 'reset' };
    for (const l of [...this.links]) this.kill(l);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private heal(mode: FaultMode): void {
    this.current = mode;
    for (const l of [...this.links]) if (l.gap) this.kill(l);
  }

  private kill(l: Link): void {
    this.links.delete(l);
    l.reset();
  }

  private delayMs(): number {
    return this.current.kind === 'delay' ? this.current.ms : 0;
  }

  private onConnection(client: Socket): void {
    this.accepted++;
    client.on('error', () => {});
    if (this.current.kind === 'reset' || !this.server.listening) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: this.target.host, port: this.target.port, noDelay: true, allowHalfOpen: true });
    upstream.on('error', () => {});
    const link = new Link(client, upstream);
    this.links.add(link);

    const forward = (pipe: Pipe) => (item: Item) => {
      if (!this.links.has(link)) return;
      if (this.current.kind === 'blackhole') {
        link.gap = true;
        return;
      }
      pipe.send(item, this.delayMs());
    };
    const toServer = forward(link.toServer);
    const toClient = forward(link.toClient);
    client.on('data', toServer);
    upstream.on('data', toClient);
    client.on('end', () => toServer(END));
    upstream.on('end', () => toClient(END));
    // An abrupt close (RST, error) on one side: in a blackhole nobody hears of it; otherwise the
    // other side is reset too.
    const abrupt = () => {
      if (!this.links.has(link)) return;
      if (this.current.kind === 'blackhole') {
        link.gap = true;
        return;
      }
      this.kill(link);
    };
    client.on('close', (hadError) => (hadError ? abrupt() : this.closedCleanly(link)));
    upstream.on('close', (hadError) => (hadError ? abrupt() : this.closedCleanly(link)));
  }

  /** Both halves have ended normally: forget the link once both sockets are gone. */
  private closedCleanly(l: Link): void {
    if (l.client.destroyed && l.upstream.destroyed) this.links.delete(l);
  }
}
