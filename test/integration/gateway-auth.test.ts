// JWT auth over real HTTP: HS256/RS256/ES256 keys pinned to their algorithm, a JWKS served by a
// real local HTTP server (rotation picked up on an unknown kid, refetches rate-limited), claim
// checks, per-route policies, claims forwarded as metadata (and not forgeable by clients), and
// the requireClaims() interceptor on the backend refusing calls without them.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { Gateway } from '../../src/gateway/index.ts';
import { call, gatewayOver, startBackends, type Backends } from './gateway-fixture.ts';

const ISS = 'https://issuer.test';
const AUD = 'coord-tests';
const SECRET = 'a-shared-secret-of-at-least-32-characters!';

interface Signer {
  alg: string;
  kid?: string;
  key: CryptoKey | Uint8Array;
}

function sign(s: Signer, claims: JWTPayload = {}, opts: { exp?: string | number; iss?: string; aud?: string; noExp?: boolean } = {}): Promise<string> {
  let jwt = new SignJWT({ sub: 'user-1', scope: 'books:read', ...claims })
    .setProtectedHeader({ alg: s.alg, ...(s.kid ? { kid: s.kid } : {}) })
    .setIssuedAt()
    .setIssuer(opts.iss ?? ISS)
    .setAudience(opts.aud ?? AUD);
  if (!opts.noExp) jwt = jwt.setExpirationTime(opts.exp ?? '5m');
  return jwt.sign(s.key);
}

class JwksServer {
  keys: JWK[] = [];
  fetches = 0;
  private server: Server | undefined;
  url = '';
  async start(): Promise<void> {
    this.server = createServer((_req, res) => {
      this.fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }
  close(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((r) => this.server?.close(() => r()) ?? r());
  }
}

async function keyPair(alg: 'RS256' | 'ES256', kid: string): Promise<{ signer: Signer; jwk: JWK; pem: string }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { signer: { alg, kid, key: privateKey }, jwk, pem: await exportSPKI(publicKey) };
}

describe('gateway auth', () => {
  let b: Backends;
  let gw: Gateway;
  let jwksGw: Gateway;
  let slowJwksGw: Gateway;
  const jwks = new JwksServer();
  const hs: Signer = { alg: 'HS256', key: new TextEncoder().encode(SECRET) };
  let rs: Awaited<ReturnType<typeof keyPair>>;
  let es: Awaited<ReturnType<typeof keyPair>>;
  let j1: Awaited<ReturnType<typeof keyPair>>;
  let j2: Awaited<ReturnType<typeof keyPair>>;

  before(async () => {
    [rs, es, j1, j2] = await Promise.all([keyPair('RS256', 'rs1'), keyPair('ES256', 'es1'), keyPair('RS256', 'jwks-1'), keyPair('ES256', 'jwks-2')]);
    await jwks.start();
    jwks.keys = [j1.jwk];
    b = await startBackends(undefined, { requireClaimsOn: true });
    gw = await gatewayOver(b, {
      auth: {
        keys: [
          { alg: 'HS256', secret: SECRET },
          { alg: 'RS256', kid: 'rs1', publicKey: rs.pem },
          { alg: 'ES256', kid: 'es1', publicKey: es.jwk },
        ],
        issuer: ISS,
        audience: AUD,
        clockToleranceSec: 5,
        methods: {
          'coord.gwtest.Library/GetShelf': 'public',
          'coord.gwtest.Library/DeleteBook': { scopes: ['books:write'] },
          'coord.gwtest.Plain': 'public',
        },
      },
    });
    jwksGw = await gatewayOver(b, { auth: { jwks: { url: jwks.url, cooldownMs: 0 }, issuer: ISS, audience: AUD } });
    slowJwksGw = await gatewayOver(b, { auth: { jwks: { url: jwks.url, cooldownMs: 60_000 }, issuer: ISS, audience: AUD } });
  });
  after(async () => {
    await Promise.all([gw?.close(), jwksGw?.close(), slowJwksGw?.close()]);
    await b?.close();
    await jwks.close();
  });

  const whoami = (g: Gateway, token: string | undefined, headers: Record<string, string> = {}) =>
    call(g, 'GET', '/v1/whoami', { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });

  it('accepts valid HS256, RS256 and ES256 tokens and forwards their claims as metadata', async () => {
    for (const s of [hs, rs.signer, es.signer]) {
      const r = await whoami(gw, await sign(s, { tenant: 't1' }), { 'x-request-id': `req-${s.alg}` });
      assert.equal(r.status, 200, `${s.alg}: ${r.text}`);
      assert.equal(r.json.subject, 'user-1');
      assert.deepEqual(r.json.scopes, ['books:read']);
      const claims = JSON.parse(r.json.claimsJson as string) as JWTPayload;
      assert.equal(claims.tenant, 't1');
      assert.equal(claims.iss, ISS);
      assert.equal(r.json.requestId, `req-${s.alg}`);
    }
  });

  it('rejects a missing token with 401 and WWW-Authenticate', async () => {
    const r = await whoami(gw, undefined);
    assert.equal(r.status, 401);
    assert.equal(r.json.code, 16);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
  });

  it('rejects expired, not-yet-valid, wrong-issuer, wrong-audience and exp-less tokens', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, Promise<string>, RegExp]> = [
      ['expired', sign(rs.signer, {}, { exp: now - 60 }), /token expired/],
      ['nbf in the future', sign(rs.signer, { nbf: now + 120 }), /not yet valid/],
      ['wrong issuer', sign(rs.signer, {}, { iss: 'https://evil.test' }), /wrong issuer/],
      ['wrong audience', sign(rs.signer, {}, { aud: 'someone-else' }), /wrong audience/],
      ['no exp', sign(hs, {}, { noExp: true }), /missing exp claim/],
    ];
    for (const [what, token, message] of cases) {
      const r = await whoami(gw, await token);
      assert.equal(r.status, 401, what);
      assert.match(r.json.message!, message, what);
      assert.match(r.headers.get('www-authenticate')!, /^Bearer error="invalid_token"/, what);
    }
    // Within the clock tolerance (5 s) an nbf slightly ahead is fine.
    assert.equal((await whoami(gw, await sign(rs.signer, { nbf: now + 2 }))).status, 200);
  });

  it('pins algorithms: alg none, an HS256 token made with the RS256 public key, and a key used with another alg are refused', async () => {
    const none = new UnsecuredJWT({ sub: 'admin' }).setIssuer(ISS).setAudience(AUD).setExpirationTime('5m').encode();
    const rNone = await whoami(gw, none);
    assert.equal(rNone.status, 401);
    assert.match(rNone.json.message!, /alg none/);
    // The classic confusion attack: HMAC-sign with the public key's PEM, claiming RS key's kid.
    const confused = await sign({ alg: 'HS256', kid: 'rs1', key: new TextEncoder().encode(rs.pem) });
    const rConfused = await whoami(gw, confused);
    assert.equal(rConfused.status, 401);
    const onlyRs = await gatewayOver(b, { auth: { keys: [{ alg: 'RS256', kid: 'rs1', publicKey: rs.pem }], issuer: ISS, audience: AUD } });
    try {
      const r = await whoami(onlyRs, confused);
      assert.equal(r.status, 401);
      assert.match(r.json.message!, /algorithm HS256 is not the one configured for key rs1/);
      const rs384 = await sign({ alg: 'RS384', kid: 'rs1', key: (await generateKeyPair('RS384')).privateKey });
      assert.match((await whoami(onlyRs, rs384)).json.message!, /algorithm RS384 is not the one configured for key rs1/);
    } finally {
      await onlyRs.close();
    }
    const forged = await sign({ alg: 'HS256', key: new TextEncoder().encode('another-secret-that-is-long-enough-1234') });
    assert.match((await whoami(gw, forged)).json.message!, /bad signature/);
  });

  it('applies per-route policies: public, authenticated, required scopes', async () => {
    // Public at the gateway, but the backend's requireClaims() refuses a call that carries none.
    const anon = await call(gw, 'GET', '/v1/shelves/1');
    assert.equal(anon.status, 401);
    assert.match(anon.json.message!, /requires a caller authenticated by the gateway/);
    const withToken = await call(gw, 'GET', '/v1/shelves/1', { headers: { authorization: `Bearer ${await sign(hs)}` } });
    assert.equal(withToken.status, 200);
    // Plain has no interceptor: public means public.
    assert.equal((await call(gw, 'POST', '/v1/hello', { body: { name: 'x' } })).status, 200);
    const reader = await call(gw, 'DELETE', '/v1/shelves/1/books/2', { headers: { authorization: `Bearer ${await sign(hs)}` } });
    assert.equal(reader.status, 403);
    assert.match(reader.json.message!, /missing scope books:write/);
    assert.match(reader.headers.get('www-authenticate')!, /insufficient_scope/);
    const writer = await call(gw, 'DELETE', '/v1/shelves/1/books/2', { headers: { authorization: `Bearer ${await sign(hs, { scope: 'books:read books:write' })}` } });
    assert.equal(writer.status, 200);
  });

  it('an invalid, forged or expired token on a public route is a 401, not anonymous access', async () => {
    const now = Math.floor(Date.now() / 1000);
    const bad: Array<[string, string]> = [
      ['garbage', 'not.a.jwt'],
      ['expired', await sign(hs, {}, { exp: now - 60 })],
      ['forged', await sign({ alg: 'HS256', key: new TextEncoder().encode('another-secret-that-is-long-enough-1234') })],
    ];
    for (const [what, token] of bad) {
      const r = await call(gw, 'POST', '/v1/hello', { body: { name: 'x' }, headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.status, 401, `${what}: ${r.text}`);
      assert.equal(r.json.code, 16, what);
      assert.match(r.headers.get('www-authenticate')!, /^Bearer error="invalid_token"/, what);
    }
    // Without a token the route stays public, and a good token still works there.
    assert.equal((await call(gw, 'POST', '/v1/hello', { body: { name: 'x' } })).status, 200);
    assert.equal((await call(gw, 'POST', '/v1/hello', { body: { name: 'x' }, headers: { authorization: `Bearer ${await sign(hs)}` } })).status, 200);
  });

  it('clients cannot forge the claims metadata', async () => {
    const forgedHeaders = { 'grpc-metadata-x-coord-sub': 'admin', 'grpc-metadata-x-coord-claims': '{"sub":"admin"}', 'x-coord-sub': 'admin', 'x-coord-claims': '{"sub":"admin"}' };
    const anon = await call(gw, 'GET', '/v1/shelves/1', { headers: forgedHeaders });
    assert.equal(anon.status, 401, 'the backend still sees no claims');
    const r = await whoami(gw, await sign(hs), { ...forgedHeaders, 'grpc-metadata-x-tenant': 'acme' });
    assert.equal(r.json.subject, 'user-1');
    assert.equal(r.json.forwardedHeader, 'acme', 'other grpc-metadata-* headers are forwarded');
  });

  it('verifies against a JWKS URL and picks up a rotated key on an unknown kid', async () => {
    assert.equal((await whoami(jwksGw, await sign(j1.signer))).status, 200);
    const unknown = await whoami(jwksGw, await sign(j2.signer));
    assert.equal(unknown.status, 401);
    assert.match(unknown.json.message!, /unknown kid/);
    jwks.keys = [j1.jwk, j2.jwk];
    assert.equal((await whoami(jwksGw, await sign(j2.signer))).status, 200, 'the new key is fetched');
    const hsAgainstJwks = await whoami(jwksGw, await sign(hs));
    assert.equal(hsAgainstJwks.status, 401, 'HS256 is not among the JWKS algorithms');
    jwks.keys = [j1.jwk];
  });

  it('refetches the JWKS for unknown kids at most once per cooldown', async () => {
    const before = jwks.fetches;
    assert.equal((await whoami(slowJwksGw, await sign(j1.signer))).status, 200);
    assert.equal(jwks.fetches, before + 1);
    for (let i = 0; i < 3; i++) {
      const r = await whoami(slowJwksGw, await sign({ ...j2.signer, kid: `unknown-${i}` }));
      assert.equal(r.status, 401);
    }
    assert.equal(jwks.fetches, before + 1, 'no refetch within the cooldown');
  });
});
