// A PostgreSQL wire-protocol client that sends exactly the bytes a test gives it (split, joined
// or malformed as the test needs) and reads whole backend messages back, for the PGlite bridge
// suite (real PostgreSQL is the reference).
import { connect, type Socket } from 'node:net';
import { PROTOCOL_3_0 } from '../../src/cli/pg-wire.ts';

export interface BackendMessage {
  type: string;
  body: Buffer;
}

// Message framing is the bridge's own (pg-wire.ts); the suites hold real PostgreSQL to the same
// bytes, so an encoding mistake there would fail on PostgreSQL too.
export { message as frontendMessage, query as queryMessage } from '../../src/cli/pg-wire.ts';

/** A StartupMessage for protocol `version` (default 3.0) with the given parameters. */
export function startupMessage(params: Record<string, string>, version = PROTOCOL_3_0): Buffer {
  const body = Buffer.from(`${Object.entries(params).map(([k, v]) => `${k}\0${v}\0`).join('')}\0`);
  const out = Buffer.alloc(8 + body.length);
  out.writeInt32BE(out.length, 0);
  out.writeInt32BE(version, 4);
  body.copy(out, 8);
  return out;
}

/** The fields of an ErrorResponse/NoticeResponse body by tag (`C` SQLSTATE, `M` message, `S` severity). */
export function errorFields(body: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const part of body.toString('utf8').split('\0')) if (part) fields[part[0]] = part.slice(1);
  return fields;
}

export class RawPgClient {
  private buffered = Buffer.alloc(0);
  private readonly messages: BackendMessage[] = [];
  private wakeUp: (() => void) | undefined;
  /** Resolves when the server has closed the connection. */
  readonly closed: Promise<void>;
  private isClosed = false;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 5 && this.buffered.length >= 1 + this.buffered.readInt32BE(1)) {
        const end = 1 + this.buffered.readInt32BE(1);
        this.messages.push({ type: String.fromCharCode(this.buffered[0]), body: this.buffered.subarray(5, end) });
        this.buffered = this.buffered.subarray(end);
      }
      this.wakeUp?.();
    });
    socket.on('error', () => {}); // a reset shows as `closed`, which the tests wait for
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wakeUp?.();
        resolve();
      }),
    );
  }

  static async connect(url: string): Promise<RawPgClient> {
    const { hostname, port } = new URL(url);
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawPgClient(socket);
  }

  async write(data: Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => this.socket.write(data, (e) => (e ? reject(e) : resolve())));
  }

  /** The bytes received before any whole message: the one-byte answer to an SSLRequest. */
  async byte(): Promise<string> {
    await this.until(() => this.buffered.length > 0 || this.isClosed);
    const b = String.fromCharCode(this.buffered[0]);
    this.buffered = this.buffered.subarray(1);
    return b;
  }

  /** The next whole message; undefined once the server closed the connection with none left. */
  async next(timeoutMs = 30_000): Promise<BackendMessage | undefined> {
    await this.until(() => this.messages.length > 0 || this.isClosed, timeoutMs);
    return this.messages.shift();
  }

  /** Messages up to and including the next ReadyForQuery. */
  async untilReady(): Promise<BackendMessage[]> {
    const out: BackendMessage[] = [];
    for (;;) {
      const m = await this.next();
      if (!m) throw Object.assign(new Error(`connection closed before ReadyForQuery; got ${out.map((x) => x.type).join(' ')}`), { last: out.at(-1)?.body });
      out.push(m);
      if (m.type === 'Z') return out;
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private async until(done: () => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`no answer from the server within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.wakeUp = () => (clearTimeout(timer), resolve());
      });
    }
  }
}
