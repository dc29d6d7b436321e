// The parts of PostgreSQL's frontend/backend protocol 3.0 that the PGlite bridge
// (pglite-server.ts) handles itself: framing frontend messages, the startup packets, and the
// backend messages for start-up and errors. Everything else passes through to PGlite unchanged.
// https://www.postgresql.org/docs/current/protocol-message-formats.html

/** Protocol 3.0 in a StartupMessage. */
export const PROTOCOL_3_0 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** PostgreSQL's MAX_STARTUP_PACKET_LENGTH. */
export const MAX_STARTUP_BYTES = 10_000;

/** Bad input from a client: `code` is the SQLSTATE sent back in the ErrorResponse. */
export class WireError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'WireError';
  }
}

export type StartupPacket =
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel' }
  | { kind: 'startup'; major: number; minor: number; params: Map<string, string> };

/**
 * The first packet at the front of `buf` (length-prefixed, no type byte) and its size, or
 * undefined until all of it has arrived. Throws WireError on a malformed packet.
 */
export function readStartupPacket(buf: Buffer): { packet: StartupPacket; size: number } | undefined {
  if (buf.length < 4) return undefined;
  const size = buf.readInt32BE(0);
  if (size < 8 || size > MAX_STARTUP_BYTES) throw new WireError('08P01', `invalid length of startup packet (${size} bytes)`);
  if (buf.length < size) return undefined;
  const code = buf.readInt32BE(4);
  if (code === SSL_REQUEST) return { packet: { kind: 'ssl' }, size };
  if (code === GSSENC_REQUEST) return { packet: { kind: 'gssenc' }, size };
  if (code === CANCEL_REQUEST) return { packet: { kind: 'cancel' }, size };
  const major = code >>> 16;
  if (major !== 3) throw new WireError('0A000', `unsupported frontend protocol ${major}.${code & 0xffff}: the server supports 3.0`);
  // name\0value\0 … \0
  const params = new Map<string, string>();
  const fields = buf.subarray(8, size).toString('utf8').split('\0');
  if (fields.length < 1 || fields.at(-1) !== '' || fields.at(-2) !== '' || fields.length % 2 !== 0) throw new WireError('08P01', 'invalid startup packet layout: expected terminator as last byte');
  for (let i = 0; i + 1 < fields.length - 1; i += 2) {
    if (fields[i] === '') throw new WireError('08P01', 'invalid startup packet layout: empty parameter name');
    params.set(fields[i], fields[i + 1]);
  }
  return { packet: { kind: 'startup', major, minor: code & 0xffff, params }, size };
}

/**
 * Cuts a stream of frontend messages (type byte, int32 length counting itself, body) into whole
 * messages, however TCP split or joined them. Each message is copied once.
 */
export class MessageFramer {
  private chunks: Buffer[] = [];
  private length = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes received but not yet returned as messages. */
  get buffered(): number {
    return this.length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The next whole message, or undefined until it has arrived. Throws WireError on a bad or oversized length. */
  next(): Buffer | undefined {
    if (this.length < 5) return undefined;
    const header = this.peek(5);
    const declared = header.readInt32BE(1);
    if (declared < 4) throw new WireError('08P01', `invalid message length ${declared} (message type '${String.fromCharCode(header[0])}')`);
    if (declared - 4 > this.maxMessageBytes) {
      throw new WireError('54000', `message of ${declared - 4} bytes is larger than this server's limit of ${this.maxMessageBytes} bytes (maxMessageBytes)`);
    }
    if (this.length < declared + 1) return undefined;
    return this.take(declared + 1);
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0];
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0];
        const used = Math.min(c.length, n - at);
        c.copy(out, at, 0, used);
        at += used;
        if (used === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(used);
      }
    }
    this.length -= n;
    return out;
  }
}

/** One protocol message: a type byte, a length, the body (the same framing both ways). */
export function message(type: string, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const int32 = (...values: number[]) => {
  const b = Buffer.allocUnsafe(4 * values.length);
  values.forEach((v, i) => b.writeInt32BE(v, 4 * i));
  return b;
};
const cstring = (s: string) => Buffer.from(`${s}\0`, 'utf8');

export const authenticationOk = () => message('R', int32(0));
export const parameterStatus = (name: string, value: string) => message('S', Buffer.concat([cstring(name), cstring(value)]));
export const backendKeyData = (pid: number, secret: number) => message('K', int32(pid, secret));
export const readyForQuery = (status: 'I' | 'T' | 'E') => message('Z', Buffer.from(status, 'latin1'));
/** The answer to a StartupMessage asking for a newer 3.x minor version or `_pq_.` options: we speak 3.0 and none of them. */
export const negotiateProtocolVersion = (unrecognized: string[]) => message('v', Buffer.concat([int32(0, unrecognized.length), ...unrecognized.map(cstring)]));

/** An ErrorResponse with severity, SQLSTATE and message, as PostgreSQL sends it. */
export function errorResponse(severity: 'ERROR' | 'FATAL', code: string, text: string): Buffer {
  const field = (tag: string, value: string) => Buffer.concat([Buffer.from(tag, 'latin1'), cstring(value)]);
  return message('E', Buffer.concat([field('S', severity), field('V', severity), field('C', code), field('M', text), Buffer.from([0])]));
}

/** A simple-protocol Query message. */
export const query = (sql: string) => message('Q', cstring(sql));
/** A Sync message. */
export const sync = () => message('S', Buffer.alloc(0));

/**
 * The transaction status of the ReadyForQuery that ends `response` (a run of whole backend
 * messages), or undefined when it does not end with one (PGlite still expects more, e.g. a Sync).
 */
export function endingReadyStatus(response: Uint8Array): 'I' | 'T' | 'E' | undefined {
  const view = new DataView(response.buffer, response.byteOffset, response.byteLength);
  let at = 0;
  let last = -1;
  while (at + 5 <= response.length) {
    last = at;
    at += 1 + view.getInt32(at + 1);
  }
  if (last < 0 || at !== response.length || response[last] !== 0x5a /* Z */) return undefined;
  return String.fromCharCode(response[last + 5]) as 'I' | 'T' | 'E';
}
