// Malformed requests against a real gateway over real gRPC backends, from a fixed seed: bad JSON,
// wrong types, huge numbers, odd paths and encodings, forged and expired tokens, absurd deadlines
// and headers, oversized bodies, wrong content types and methods, and backend errors whose
// messages and google.rpc details carry internals (IPv6 and IPv4 addresses, host names, paths, Go
// panics, DebugInfo) — with good requests interleaved. Every answer is checked: no 5xx except
// 503/504 with their real causes' messages and the backend's own failures, no internal address,
// host name or stack frame in any body or header, and every good request answered as it should.
import { SignJWT } from 'jose';
import * as grpc from '@grpc/grpc-js';
import type { Gateway } from '../../../src/gateway/index.ts';
import { httpStatusOf } from '../../../src/gateway/status-http.ts';
import { gatewayOver, startBackends, type Backends } from '../../integration/gateway-fixture.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';

const SECRET = 'fuzz-secret-that-is-long-enough-0123456789';
const ISS = 'https://issuer.fuzz';
const AUD = 'coord-fuzz';

export interface FuzzResult {
  requests: number;
  /** Requests the HTTP client itself refused to send (invalid header bytes…). */
  notSent: number;
  statuses: Record<string, number>;
  goodOk: number;
  goodFailed: string[];
  /** 5xx other than 503/504, or 503/504 without their real causes' messages. */
  serverErrors: string[];
  /** Bodies or headers naming an internal address, grpc-js internals or a stack frame. */
  leaks: string[];
}

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  good?: boolean;
  /** A backend failure (/v1/fail): the answer must carry the code's HTTP status and no internals. */
  fail?: { code: number; message: string; details: string[] };
}

const LEAK = /127\.0\.0\.1:\d+|remote_addr|\bipv[46]:|\n\s+at |\.ts:\d+:\d+|node:internal|No connection established|Deadline exceeded after|fd00:|prod\.internal|cluster\.local|goroutine|\/srv\/|DebugInfo|RequestInfo|acme\.internal/;

/** What backends put in error messages that must not reach a public answer. */
const INTERNALS = [
  'fd00:10:96::1a:5432',
  '[fd00::2]:80',
  '10.0.0.7:5432',
  'orders-db.prod.internal',
  'payments.svc.cluster.local:8443',
  '/var/lib/orders/ledger.db',
  'C:\\srv\\orders.db',
  'server.go:42',
  'goroutine 1 [running]:',
  'panic: runtime error: index out of range [5] with length 3',
  '\n\tat handler (/srv/app.js:10:5)',
  'https://grafana.prod.internal/d/1',
  'admin@orders-db',
  '0xc000123456',
  'ECONNREFUSED',
  'localhost:5432',
  'java.lang.NullPointerException',
  'dns:///orders',
];
const PLAIN = ['at most 2 items per order', 'the shelf is full', 'this method requires scope books:write'];
const DETAIL_NAMES = ['debug', 'request-info', 'bad-request', 'precondition', 'error-info', 'localized', 'shelf', 'unknown'];
const PUBLIC_DETAILS = /^type\.googleapis\.com\/google\.rpc\.(BadRequest|PreconditionFailure|ErrorInfo|LocalizedMessage)$/;
/** The only 503/504 answers there are reasons for here: no instances, an unreachable service, a deadline. */
const REAL_5XX = /^(the service did not answer in time|deadline exceeded before the handler started|the service is unavailable|no instances of .*)$/;

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

function junkString(r: () => number, max: number): string {
  const alphabet = ['a', 'Z', '0', '/', '%', '?', '&', '=', '#', '.', '..', '{', '}', '"', "'", '\\', ' ', 'é', '😀', '\u0000', '%zz', '%2F', '%00', '*', ':', '~', '-', '_'];
  let s = '';
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) s += pick(r, alphabet);
  return s;
}

const HUGE = ['1e400', '-1e400', '99999999999999999999999', '-9223372036854775809', '18446744073709551616', '0x10', 'NaN', 'Infinity', '-0', '1.5', '"12"', 'true', 'null'];

function junkJson(r: () => number, depth = 0): string {
  switch (Math.floor(r() * 12)) {
    case 0:
      return '{"int32Value": ';
    case 1:
      return `{"int32Value": ${pick(r, HUGE)}}`;
    case 2:
      return `{"int64Value": ${pick(r, HUGE)}, "uint64Value": ${pick(r, HUGE)}}`;
    case 3:
      return `{"stringValue": ${pick(r, ['1', '[]', '{}', 'true'])}, "boolValue": ${pick(r, ['"yes"', '1', '[]'])}}`;
    case 4:
      return '['.repeat(200 + depth) + ']'.repeat(200 + depth);
    case 5:
      return `{"nested": ${depth < 3 ? junkJson(r, depth + 1) : '{}'}}`;
    case 6:
      return `{"__proto__": {"admin": true}, "constructor": {"prototype": {}}}`;
    case 7:
      return `{"enumValue": ${pick(r, ['"NOPE"', '999', '-1', '1.5'])}}`;
    case 8:
      return `{"timestamp": ${pick(r, ['"yesterday"', '"9999-99-99T99:99:99Z"', '5', '"1970-01-01T00:00:00.1234567891Z"'])}, "duration": ${pick(r, ['"1"', '"-315576000001s"', '"1.5h"'])}}`;
    case 9:
      return `{"bytesValue": ${pick(r, ['"!!!"', '"a"', '5', '"' + 'A'.repeat(5000) + '"'])}}`;
    case 10:
      return JSON.stringify({ [junkString(r, 10)]: junkString(r, 20) });
    default:
      return junkString(r, 60);
  }
}

const ROUTES = [
  ['GET', '/v1/shelves/{id}'],
  ['GET', '/v1/shelves/{id}/books'],
  ['POST', '/v1/shelves/{id}/books'],
  ['GET', '/v1/shelves/{id}/books/{id}'],
  ['DELETE', '/v1/shelves/{id}/books/{id}'],
  ['POST', '/v1/shelves/{id}/books/{id}:move'],
  ['GET', '/v1/files/{any}'],
  ['GET', '/v1/shelves/{id}/books:stream'],
  ['POST', '/v1/echo'],
  ['GET', '/v1/echo'],
  ['POST', '/v1/echo/nested/{id}'],
  ['GET', '/v1/whoami'],
  ['GET', '/v1/sleep/{ms}'],
  ['POST', '/v1/hello'],
  ['GET', '/v1/hello/{id}'],
  ['GET', '/v1/count/{id}'],
] as const;

export async function runGatewayFuzz(options: { requests: number; seed: number; concurrency?: number; log?: (line: string) => void }): Promise<FuzzResult> {
  const r = seededRandom(options.seed);
  const key = new TextEncoder().encode(SECRET);
  const now = Math.floor(Date.now() / 1000);
  const good = await new SignJWT({ scope: 'books:read books:write' }).setProtectedHeader({ alg: 'HS256' }).setSubject('fuzz').setIssuer(ISS).setAudience(AUD).setExpirationTime('10m').sign(key);
  const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('fuzz').setIssuer(ISS).setAudience(AUD).setExpirationTime(now - 120).sign(key);
  const forged = await new SignJWT({ scope: 'books:write' }).setProtectedHeader({ alg: 'HS256' }).setSubject('admin').setIssuer(ISS).setAudience(AUD).setExpirationTime('10m').sign(new TextEncoder().encode('not-the-secret-but-long-enough-0123456789'));
  const tokens = [good, expired, forged, `${good.slice(0, -3)}abc`, 'e30.e30.', 'x'.repeat(9000), junkString(r, 40)];

  const backends: Backends = await startBackends();
  const gw: Gateway = await gatewayOver(backends, {
    bodyLimit: 64 * 1024,
    timeoutMs: 2000,
    maxTimeoutMs: 3000,
    auth: { keys: [{ alg: 'HS256', secret: SECRET }], issuer: ISS, audience: AUD, methods: { 'coord.gwtest.Plain': 'public', 'coord.gwtest.Library/GetShelf': 'public' } },
  });

  const makeBad = (): Req => {
    const [m, template] = pick(r, ROUTES);
    const seg = () => pick(r, [junkString(r, 12), pick(r, HUGE), '1', encodeURIComponent(junkString(r, 8)), '%E0%A4%A', '..%2F..%2Fetc', 'a'.repeat(Math.floor(r() * 3000))]);
    let path = template.replace(/\{ms\}/, () => pick(r, ['1', '5', '-1', '1e9', 'x', '99999999999'])).replace(/\{[a-z]+\}/g, seg);
    if (r() < 0.4) path += `?${junkString(r, 30)}=${pick(r, HUGE)}&${pick(r, ['int32Value', 'nested.name', 'repeatedInt', 'structValue', 'a.b.c.d.e'])}=${junkString(r, 10)}`;
    if (r() < 0.05) path = pick(r, ['//v1//shelves', '/v1/shelves/1/../../admin', '/%2e%2e/', '/v1/' + 'x/'.repeat(300), '/v1/shelves/1?' + 'a=1&'.repeat(2000)]);
    const method = r() < 0.8 ? m : pick(r, ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'SEARCH', 'PROPFIND']);
    const headers: Record<string, string> = {};
    if (r() < 0.7) headers['content-type'] = pick(r, ['application/json', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/grpc', '', '*/*']);
    if (r() < 0.5) headers.authorization = pick(r, [`Bearer ${pick(r, tokens)}`, `Basic ${Buffer.from('a:b').toString('base64')}`, 'Bearer', 'bearer  ' + good, junkString(r, 20).replace(/[^\x20-\x7e]/g, '')]);
    if (r() < 0.3) headers['grpc-timeout'] = pick(r, ['0n', '1n', '99999999H', '-1S', 'abc', '1', '5m', '100000000000000000000S', '2S']);
    if (r() < 0.2) headers['x-request-timeout'] = pick(r, ['0', '-5', '1e400', '1ms', '10000000s', 'soon', '3s']);
    if (r() < 0.2) headers[`grpc-metadata-${pick(r, ['x', 'x-bin', 'grpc-status', 'x-coord-sub', ':path', 'te'])}`] = pick(r, ['%%%', 'AAAA', 'admin', '0', 'x'.repeat(9000)]);
    if (r() < 0.1) headers.accept = pick(r, ['text/event-stream', 'application/x-ndjson', 'image/png', '*/*;q=0']);
    let body: string | undefined;
    if (method !== 'GET' && method !== 'HEAD' && r() < 0.85) body = r() < 0.03 ? 'x'.repeat(70 * 1024) : junkJson(r);
    return { method, path, headers, body };
  };
  const makeFail = (): Req => {
    const code = 1 + Math.floor(r() * 16);
    const words = () => pick(r, ['cannot reach', 'lost', 'the shelf', 'replica', 'failed:', 'see', 'db']);
    const message = r() < 0.2 ? pick(r, PLAIN) : r() < 0.5 ? pick(r, INTERNALS) : `${words()} ${pick(r, INTERNALS)} ${words()}`;
    const details = DETAIL_NAMES.filter(() => r() < 0.3);
    const query = [`message=${encodeURIComponent(message)}`, ...details.map((d) => `details=${d}`)].join('&');
    return { method: 'GET', path: `/v1/fail/${code}?${query}`, headers: { authorization: `Bearer ${good}` }, fail: { code, message, details } };
  };
  const makeGood = (): Req =>
    pick<Req>(r, [
      { method: 'GET', path: '/v1/shelves/1', headers: { authorization: `Bearer ${good}` }, good: true },
      { method: 'POST', path: '/v1/hello', headers: { 'content-type': 'application/json' }, body: '{"name":"fuzz"}', good: true },
      { method: 'POST', path: '/v1/echo', headers: { 'content-type': 'application/json', authorization: `Bearer ${good}` }, body: '{"int32Value": 5, "stringValue": "ok"}', good: true },
    ]);

  // Every backend reachable through the gateway before the campaign, so the first requests do not
  // race the registry's first answer.
  const warmups: Req[] = [
    { method: 'GET', path: '/v1/shelves/1', headers: { authorization: `Bearer ${good}` } },
    { method: 'POST', path: '/v1/hello', headers: { 'content-type': 'application/json' }, body: '{"name":"warm"}' },
    { method: 'POST', path: '/v1/echo', headers: { 'content-type': 'application/json', authorization: `Bearer ${good}` }, body: '{}' },
  ];
  const warmUp = async () => {
    for (const w of warmups) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const res = await fetch(gw.url + w.path, { method: w.method, headers: w.headers, body: w.body });
        await res.arrayBuffer();
        if (res.status === 200) break;
        if (Date.now() > deadline) throw new Error(`gateway-fuzz: ${w.method} ${w.path} still answers ${res.status} after 60 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const result: FuzzResult = { requests: 0, notSent: 0, statuses: {}, goodOk: 0, goodFailed: [], serverErrors: [], leaks: [] };
  const queue: Req[] = Array.from({ length: options.requests }, (_, i) => (i % 10 === 0 ? makeGood() : i % 10 === 5 ? makeFail() : makeBad()));
  const describe = (q: Req) => `${q.method} ${q.path.slice(0, 120)}${q.body ? ` body ${q.body.slice(0, 80)}` : ''} ${JSON.stringify(q.headers).slice(0, 160)}`;

  const worker = async () => {
    for (let q = queue.shift(); q; q = queue.shift()) {
      let res: Response;
      try {
        res = await fetch(gw.url + q.path, { method: q.method, headers: q.headers, body: q.body, signal: AbortSignal.timeout(10_000) });
      } catch (e) {
        if ((e as Error).name === 'TimeoutError') result.serverErrors.push(`no answer in 10 s: ${describe(q)}`);
        else result.notSent++;
        continue;
      }
      const text = await res.text();
      result.requests++;
      result.statuses[res.status] = (result.statuses[res.status] ?? 0) + 1;
      const headerText = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
      if (LEAK.test(text) || LEAK.test(headerText)) result.leaks.push(`${res.status} ${text.slice(0, 200)} for ${describe(q)}`);
      if (q.good) {
        if (res.status === 200) result.goodOk++;
        else result.goodFailed.push(`${res.status} ${text.slice(0, 200)} for ${describe(q)}`);
      }
      if (q.fail) {
        const problem = failProblem(q.fail, res.status, text);
        if (problem) result.leaks.push(`${problem}: ${res.status} ${text.slice(0, 300)} for ${describe(q)}`);
        continue;
      }
      if (res.status >= 500) {
        let message = '';
        try {
          message = (JSON.parse(text) as { message?: string }).message ?? '';
        } catch {
          // not JSON: counted below
        }
        // A HEAD answer has no body to tell its cause by; its status alone is checked.
        const explained = (res.status === 503 || res.status === 504) && (q.method === 'HEAD' || REAL_5XX.test(message));
        if (!explained) result.serverErrors.push(`${res.status} ${text.slice(0, 200)} for ${describe(q)}`);
      }
    }
  };
  try {
    await warmUp();
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  } finally {
    await gw.close();
    await backends.close();
  }
  return result;
}

/** Why the answer to a backend failure is wrong (wrong status, internals shown, a detail that is not public), or undefined. */
function failProblem(fail: NonNullable<Req['fail']>, status: number, text: string): string | undefined {
  let body: { code?: number; message?: string; details?: Array<{ '@type'?: string }> };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return 'not JSON';
  }
  // A loaded machine may miss the deadline or the registry's first answer before the call is made.
  if ((status === 503 || status === 504) && REAL_5XX.test(body.message ?? '')) return undefined;
  if (status !== httpStatusOf(fail.code)) return `${grpc.status[fail.code]} answered ${status}`;
  const shown = `${body.message} ${JSON.stringify(body.details)}`;
  const leaked = INTERNALS.find((s) => shown.includes(s.trim()));
  if (leaked) return `shows ${JSON.stringify(leaked)}`;
  const notPublic = body.details?.find((d) => !PUBLIC_DETAILS.test(d['@type'] ?? ''));
  if (notPublic) return `carries detail ${notPublic['@type']}`;
  const publicSent = fail.details.filter((d) => ['bad-request', 'precondition', 'error-info', 'localized'].includes(d)).length;
  if (body.details?.length !== publicSent) return `${body.details?.length} details shown of ${publicSent} public ones`;
  const serverFault = fail.code === grpc.status.UNKNOWN || fail.code === grpc.status.INTERNAL || fail.code === grpc.status.DATA_LOSS;
  if (PLAIN.includes(fail.message) && !serverFault && body.message !== fail.message) return 'a plain sentence was not shown';
  return undefined;
}

/** One line per problem; empty when the run was clean. */
export function fuzzProblems(f: FuzzResult): string[] {
  return [...f.serverErrors.map((e) => `5xx: ${e}`), ...f.leaks.map((e) => `leak: ${e}`), ...f.goodFailed.map((e) => `good request failed: ${e}`)];
}
