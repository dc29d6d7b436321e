// What the CLI checks before a command talks to etcd: that --endpoints is well formed (a usage
// error at once, not grpc-js's "Failed to parse DNS address" after the request deadline) and that
// at least one endpoint accepts a TCP connection within a short deadline, so an unreachable etcd
// is reported in about a second with the address and the operating system's cause, instead of
// "Deadline exceeded … Waiting for LB pick" after the whole request timeout.
import { connect } from 'node:net';
import { CoordError } from '../core/errors.ts';

/** No endpoint accepted a connection; the message names each one and why. */
export class UnreachableError extends CoordError {
  constructor(message: string) {
    super('unavailable', message);
  }
}

/** One endpoint as given and the host and port it names. */
export interface Endpoint {
  text: string;
  host: string;
  port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;

/**
 * Parses `host:port[,host:port…]` (an `http://` or `https://` prefix and a trailing `/` are
 * accepted, IPv6 in brackets): the endpoints, or why the first malformed one is refused.
 */
export function parseEndpoints(list: string): { endpoints: Endpoint[] } | { error: string } {
  const endpoints: Endpoint[] = [];
  const items = list.split(',').map((s) => s.trim());
  for (const text of items) {
    if (text === '') return { error: `'${list}' has an empty endpoint` };
    const hostPort = text.replace(/^https?:\/\//, '').replace(/\/$/, '');
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]/]+)):([^:]*)$/.exec(hostPort);
    if (!m) return { error: `'${text}' is not host:port` };
    const host = m[1] ?? m[2];
    const port = Number(m[3]);
    if (!/^\d+$/.test(m[3]) || port < 1 || port > 65535) return { error: `'${text}' is not host:port (the port must be a number from 1 to 65535)` };
    if (m[2] !== undefined && !HOSTNAME.test(host)) return { error: `'${text}' is not host:port ('${host}' is not a host name or IP address)` };
    endpoints.push({ text, host, port });
  }
  return { endpoints };
}

/** The operating system's reason a connection failed, in words. */
function cause(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
      return 'no such host';
    case 'EAI_AGAIN':
      return 'host name lookup failed (EAI_AGAIN)';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    default:
      return e.message;
  }
}

/** Resolves once a TCP connection to `e` opens; rejects with the cause otherwise. */
function reach(e: Endpoint, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: e.host, port: e.port });
    let settled = false;
    const done = (err?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err === undefined) resolve();
      else reject(new Error(`${e.text} (${err})`));
    };
    // Decided after the I/O already pending: when module loading has blocked the event loop past
    // the deadline, a refusal that arrived meanwhile is the answer, not a timeout.
    const timer = setTimeout(() => setImmediate(() => done(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const onAbort = () => done('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done());
    socket.once('error', (err: NodeJS.ErrnoException) => done(cause(err)));
  });
}

/**
 * Resolves when any endpoint accepts a TCP connection within `timeoutMs`; otherwise rejects with
 * an UnreachableError ('unavailable') naming every endpoint and why it could not be reached.
 */
export async function probeEndpoints(endpoints: Endpoint[], timeoutMs: number, signal?: AbortSignal): Promise<void> {
  try {
    await Promise.any(endpoints.map((e) => reach(e, timeoutMs, signal)));
  } catch (e) {
    const why = (e as AggregateError).errors.map((x: Error) => x.message).join(', ');
    throw new UnreachableError(`cannot reach etcd at ${why}`);
  }
}
