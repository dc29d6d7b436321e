// A PostgreSQL wire-protocol server over PGlite (PostgreSQL compiled to WebAssembly, in this
// process), so several processes can use one PGlite database with plain `pg` and a DATABASE_URL:
// the same code path as a real PostgreSQL. `coord dev --demo` runs the shop's database on it.
//
// PGlite is one session. A connection gets the database to itself from its first message until
// PGlite's ReadyForQuery says Idle ('I') with no extended-protocol sequence open (so a whole
// transaction runs on one connection); other connections wait in FIFO order. A connection that
// goes away while holding it has its transaction rolled back before the next one gets it. Session
// state (SET, temp tables, named prepared statements, LISTEN) is therefore shared by everyone:
// clients must use transaction-scoped features only. Authentication, user and database name are
// not checked: it listens on loopback for one developer.
import { randomInt } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { parseListen } from '../admin/auth.ts';
import {
  authenticationOk,
  backendKeyData,
  endingReadyStatus,
  errorResponse,
  MAX_STARTUP_BYTES,
  MessageFramer,
  negotiateProtocolVersion,
  parameterStatus,
  query,
  readStartupPacket,
  readyForQuery,
  sync,
  WireError,
} from './pg-wire.ts';

export interface PGliteServerOptions {
  /** PGlite's data directory; created and initialised on first use (about 5 s), reused after. */
  dataDir: string;
  /** host:port to listen on. Default `127.0.0.1:0` (a free port). */
  listen?: string;
  /** One line per failure and notable event. Default: stderr. */
  log?: (line: string) => void;
  /** Client connections at once; one more is refused with SQLSTATE 53300 as PostgreSQL does. Default 64. */
  maxConnections?: number;
  /** Largest frontend message, and most bytes a waiting connection may send ahead. Default 64 MiB. */
  maxMessageBytes?: number;
  /**
   * A connection holding the database (inside a transaction, or mid extended-protocol sequence)
   * that sends nothing for this long is closed and rolled back, like PostgreSQL's
   * idle_in_transaction_session_timeout, so one stuck client cannot stop the others. Default 60 000 ms; 0 = never.
   */
  idleInTransactionTimeoutMs?: number;
}

export interface PGliteServer {
  /** `postgres://postgres@<host>:<port>/postgres` */
  readonly url: string;
  /** Stops listening, closes every connection (rolling back a transaction in progress), then flushes and closes PGlite. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULTS = { listen: '127.0.0.1:0', maxConnections: 64, maxMessageBytes: 64 * 1024 * 1024, idleInTransactionTimeoutMs: 60_000 };
/** Reported to clients at start-up, read from PGlite once. */
const REPORTED = ['server_version', 'server_encoding', 'client_encoding', 'DateStyle', 'IntervalStyle', 'integer_datetimes', 'standard_conforming_strings', 'TimeZone', 'is_superuser', 'session_authorization'];

/** What a connection waiting for the database is woken with, once it holds it. */
type Waiter = () => void;
const CLOSER = Symbol('close');

export async function startPGliteServer(options: PGliteServerOptions): Promise<PGliteServer> {
  const o = { ...DEFAULTS, log: (line: string) => process.stderr.write(`${line}\n`), ...options };
  const log = (line: string) => o.log(`pglite server: ${line}`);
  const { host, port } = parseListen(o.listen);
  const { PGlite } = await import('@electric-sql/pglite');
  const started = Date.now();
  const db: PGlite = await PGlite.create({ dataDir: o.dataDir });
  const settings = await db.query<{ name: string; value: string }>(`SELECT n AS name, current_setting(n) AS value FROM unnest($1::text[]) AS n`, [REPORTED]);
  log(`PGlite ready in ${Date.now() - started} ms (data in ${o.dataDir})`);

  /** Who holds PGlite: a connection, or close() once it has waited its turn. */
  let owner: Connection | typeof CLOSER | undefined;
  const waiting: Array<{ conn: Connection | undefined; wake: Waiter }> = [];
  const connections = new Set<Connection>();
  let nextId = 1;
  let closing: Promise<void> | undefined;

  /** Gives the database to `conn` now (true) or queues it to be woken, holding it, later (false). */
  const acquire = (conn: Connection | undefined, wake: Waiter): boolean => {
    if (!owner && waiting.length === 0) {
      owner = conn ?? CLOSER;
      return true;
    }
    if (!conn || !waiting.some((w) => w.conn === conn)) waiting.push({ conn, wake });
    return false;
  };
  const release = (conn: Connection) => {
    if (owner !== conn) return;
    owner = undefined;
    const next = waiting.shift();
    if (!next) return;
    owner = next.conn ?? CLOSER;
    next.wake();
  };

  class Connection {
    readonly id = nextId++;
    private startup: Buffer = Buffer.alloc(0);
    private ready = false;
    private closed = false;
    private readonly framer = new MessageFramer(o.maxMessageBytes);
    private pending: Buffer[] = [];
    private terminating = false;
    /** A Parse/Bind/Describe/Execute/Close went to PGlite and no Sync since: PGlite is mid-sequence. */
    private sequenceOpen = false;
    /** pump() is running (it may be waiting for PGlite or for the socket to drain). */
    private busy = false;
    private idleTimer: NodeJS.Timeout | undefined;

    constructor(private readonly socket: Socket) {
      socket.setNoDelay(true);
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.on('error', (e: NodeJS.ErrnoException) => log(`connection ${this.id}: ${e.code ?? e.message}`));
      socket.on('close', () => this.onClose());
    }

    get established(): boolean {
      return this.ready && !this.closed;
    }

    /** Ends the connection with a FATAL ErrorResponse, as PostgreSQL does. */
    fatal(code: string, text: string): void {
      log(`connection ${this.id}: ${text}`);
      if (this.socket.writable) this.socket.end(errorResponse('FATAL', code, text), () => this.socket.destroy());
      else this.socket.destroy();
      // A client that does not read must not keep its socket (and maybe the database) for ever.
      setTimeout(() => this.socket.destroy(), 5000).unref();
    }

    private onData(chunk: Buffer): void {
      if (this.closed || this.terminating) return;
      try {
        if (!this.ready) return this.onStartupData(chunk);
        this.framer.push(chunk);
        for (let m = this.framer.next(); m; m = this.framer.next()) {
          if (m[0] === 0x58 /* X: Terminate */) {
            this.terminating = true;
            break;
          }
          this.pending.push(m);
        }
        if (owner !== this && this.framer.buffered + this.pending.reduce((n, m) => n + m.length, 0) > o.maxMessageBytes) {
          throw new WireError('54000', `more than ${o.maxMessageBytes} bytes sent while waiting for the database (maxMessageBytes)`);
        }
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
        return this.fatal(e.code, e.message);
      }
      void this.pump();
    }

    private onStartupData(chunk: Buffer): void {
      this.startup = Buffer.concat([this.startup, chunk]);
      for (;;) {
        const read = readStartupPacket(this.startup);
        if (!read) {
          if (this.startup.length > MAX_STARTUP_BYTES) throw new WireError('08P01', 'invalid startup packet');
          return;
        }
        const rest = this.startup.subarray(read.size);
        this.startup = rest;
        const { packet } = read;
        if (packet.kind === 'ssl' || packet.kind === 'gssenc') {
          this.socket.write('N'); // no encryption: a plain connection on loopback
          continue;
        }
        if (packet.kind === 'cancel') {
          log(`connection ${this.id}: cancel request ignored (a statement running in PGlite cannot be interrupted)`);
          this.socket.destroy();
          return;
        }
        if (closing) return this.fatal('57P03', 'the database system is shutting down');
        if ([...connections].filter((c) => c.established).length >= o.maxConnections) return this.fatal('53300', `sorry, too many clients already (maxConnections ${o.maxConnections})`);
        const unrecognized = [...packet.params.keys()].filter((k) => k.startsWith('_pq_.'));
        const out: Buffer[] = [];
        if (packet.minor > 0 || unrecognized.length > 0) out.push(negotiateProtocolVersion(unrecognized));
        out.push(authenticationOk());
        for (const s of settings.rows) out.push(parameterStatus(s.name, s.value));
        out.push(parameterStatus('application_name', packet.params.get('application_name') ?? ''));
        out.push(backendKeyData(this.id, randomInt(2 ** 31)), readyForQuery('I'));
        this.socket.write(Buffer.concat(out));
        this.ready = true;
        this.startup = Buffer.alloc(0);
        if (rest.length > 0) this.onData(rest);
        return;
      }
    }

    /** Forwards pending messages to PGlite while this connection holds (or gets) the database. */
    private async pump(): Promise<void> {
      if (this.busy) return;
      this.busy = true;
      try {
        await this.forward();
      } finally {
        this.busy = false;
      }
      if (this.closed) {
        if (owner === this) await this.rollBack();
        return;
      }
      if (owner === this) this.armIdleTimer();
      if (this.terminating && this.pending.length === 0) this.socket.end();
    }

    private async forward(): Promise<void> {
      while (this.pending.length > 0 && !this.closed && !closing) {
        if (owner !== this && !acquire(this, () => void this.pump())) return;
        clearTimeout(this.idleTimer);
        const batch = this.pending;
        this.pending = [];
        for (const m of batch) {
          if (m[0] === 0x53 /* S */ || m[0] === 0x51 /* Q */) this.sequenceOpen = false;
          else if ('PBDEC'.includes(String.fromCharCode(m[0]))) this.sequenceOpen = true;
        }
        let response: Uint8Array;
        try {
          response = await db.execProtocolRaw(batch.length === 1 ? batch[0] : Buffer.concat(batch));
        } catch (e) {
          return this.fatal('XX000', `PGlite failed: ${(e as Error).message}`);
        }
        if (this.closed) return;
        if (!this.socket.write(response)) await new Promise((resolve) => (this.socket.once('drain', resolve), this.socket.once('close', resolve)));
        if (this.closed) return;
        if (endingReadyStatus(response) === 'I' && !this.sequenceOpen) release(this);
      }
    }

    private armIdleTimer(): void {
      if (o.idleInTransactionTimeoutMs <= 0) return;
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(
        () => this.fatal('25P03', `terminating connection due to idle-in-transaction timeout: it held the database for ${o.idleInTransactionTimeoutMs} ms without sending anything`),
        o.idleInTransactionTimeoutMs,
      );
      this.idleTimer.unref();
    }

    private onClose(): void {
      if (this.closed) return;
      this.closed = true;
      clearTimeout(this.idleTimer);
      connections.delete(this);
      const queued = waiting.findIndex((w) => w.conn === this);
      if (queued >= 0) waiting.splice(queued, 1);
      // While busy, pump() rolls back once PGlite has answered.
      if (owner === this && !this.busy) void this.rollBack();
    }

    /** Leaves PGlite Idle after this connection went away holding it, then hands the database on. */
    private async rollBack(): Promise<void> {
      try {
        const response = await db.execProtocolRaw(Buffer.concat([sync(), query('ROLLBACK')]));
        const status = endingReadyStatus(response);
        log(`connection ${this.id} closed while holding the database: rolled back${status === 'I' ? '' : ` (yet PGlite reports status '${status}')`}`);
      } catch (e) {
        log(`connection ${this.id} closed while holding the database; ROLLBACK failed: ${(e as Error).message}`);
      } finally {
        release(this);
      }
    }
  }

  const server = createServer((socket) => {
    if (closing) return void socket.destroy();
    connections.add(new Connection(socket));
  });
  server.on('error', (e) => log(`listener: ${e.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => (server.off('error', reject), resolve()));
  }).catch(async (e: Error) => {
    await db.close();
    throw new Error(`pglite server: cannot listen on ${o.listen}: ${e.message}`);
  });
  const address = server.address() as { port: number };
  const url = `postgres://postgres@${host.includes(':') ? `[${host}]` : host}:${address.port}/postgres`;

  const close = () =>
    (closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of connections) c.fatal('57P01', 'terminating connection due to administrator command');
      // Once a holder's transaction is rolled back, nobody uses PGlite again.
      await new Promise<void>((resolve) => acquire(undefined, resolve) && resolve());
      await stopped;
      await db.close();
      log('closed');
    })());
  return { url, close, [Symbol.asyncDispose]: close };
}
