import { createHash, timingSafeEqual } from 'node:crypto';
import { CoordError } from '../core/errors.ts';
import { HttpError } from './errors-http.ts';

/**
 * The hosts that may serve the admin API without a token: the machine's default loopback names.
 * Other 127.x addresses are deliberately not on the list: they show up in port-forwarding and
 * container setups where "only this machine" is not a given, and a token costs one flag.
 */
const OPEN_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

export function isOpenHost(host: string): boolean {
  return OPEN_HOSTS.has(host.replace(/^\[|\]$/g, '').toLowerCase());
}

/** Splits `host:port`, `[v6]:port` or `:port` (host defaults to 127.0.0.1). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new CoordError('invalid-argument', `--listen must be host:port (e.g. 127.0.0.1:8080 or [::1]:0), got '${listen}'`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export interface AccessPolicy {
  token: string | undefined;
  readOnly: boolean;
}

/** A bind that is not one of the open hosts needs a token; fails at start-up rather than serving unprotected. */
export function checkBind(host: string, token: string | undefined): void {
  if (token === '') throw new CoordError('invalid-argument', 'the admin token must not be empty');
  if (!token && !isOpenHost(host)) {
    throw new CoordError(
      'invalid-argument',
      `the admin API on ${host} would be reachable beyond this machine's loopback: give a token (--token or COORD_ADMIN_TOKEN), or listen on 127.0.0.1`,
    );
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

interface RequestLike {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Checks one API request, in order: the bearer token (401), then — without a token — that the Host
 * header names a loopback host, so a web page cannot reach the API through DNS rebinding (403);
 * a cross-origin browser request (403); then read-only mode for every method but GET/HEAD (403).
 */
export function authorize(req: RequestLike, policy: AccessPolicy): void {
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  if (policy.token) {
    const m = /^Bearer\s+(.+)$/i.exec(header('authorization') ?? '');
    // Compare digests: equal length, and the comparison time says nothing about the token.
    if (!m || !timingSafeEqual(digest(m[1].trim()), digest(policy.token))) {
      throw new HttpError(401, 'unauthorized', m ? 'wrong token' : 'this admin API requires a token: send Authorization: Bearer <token>');
    }
  } else {
    const host = (header('host') ?? '').replace(/:\d+$/, '');
    if (!isOpenHost(host)) throw new HttpError(403, 'forbidden', `unexpected Host header '${host}': without a token the admin API only answers requests addressed to 127.0.0.1, localhost or [::1]`);
  }
  const origin = header('origin');
  if (origin && origin !== 'null') {
    let originHost = '';
    try {
      originHost = new URL(origin).host;
    } catch {
      // not a URL: treated as foreign below
    }
    if (originHost !== header('host')) throw new HttpError(403, 'forbidden', `cross-origin request from ${origin} refused`);
  }
  const method = req.method.toUpperCase();
  if (policy.readOnly && method !== 'GET' && method !== 'HEAD') {
    throw new HttpError(403, 'read-only', 'the admin API is in read-only mode (--read-only): changes are refused');
  }
}
