// JWT verification with jose. Every configured key is pinned to one algorithm, so a token can
// never choose how it is checked (an HS256 token against an RS256 public key, or `alg: none`,
// finds no key). A JWKS URL is cached and refetched when a token names a kid it does not hold
// (key rotation), at most once per cooldown. exp (required by default), nbf, iss and aud are
// checked with a clock tolerance.
import * as grpc from '@grpc/grpc-js';
import { createRemoteJWKSet, decodeProtectedHeader, importJWK, importSPKI, jwtVerify, type CryptoKey, type JWK, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { CoordError } from '../core/errors.ts';
import { GatewayHttpError } from './status-http.ts';

/** Algorithms coord accepts (no `none`, nothing symmetric unless you configure a secret). */
export const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
/** A JWT signature algorithm the gateway verifies. */
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** One verification key with its one algorithm. */
export interface JwtKeyConfig {
  /** Matched against the token's `kid` header when both have one. */
  kid?: string;
  alg: JwtAlgorithm;
  /** HS*: the shared secret (UTF-8). */
  secret?: string;
  /** RS*, PS*, ES*, EdDSA: a PEM public key (SPKI) or a public JWK. */
  publicKey?: string | JWK;
}

/** A JSON Web Key Set to verify tokens with, fetched from `url` and refetched for unknown key ids. */
export interface JwksConfig {
  url: string;
  /** Algorithms accepted from this key set. Default `['RS256', 'ES256']`. */
  algorithms?: JwtAlgorithm[];
  /** After a fetch, no refetch for an unknown kid before this long, ms. Default 30000. */
  cooldownMs?: number;
  /** Keys are refetched when older than this, ms. Default 600000. */
  cacheMaxAgeMs?: number;
  /** Fetch timeout, ms. Default 5000. */
  timeoutMs?: number;
}

export interface JwtOptions {
  keys?: JwtKeyConfig[];
  jwks?: JwksConfig;
  /** Required `iss` (one of). Default: not checked. */
  issuer?: string | string[];
  /** Required `aud` (one of). Default: not checked. */
  audience?: string | string[];
  /** Leeway for exp and nbf, seconds. Default 5. */
  clockToleranceSec?: number;
  /** Reject tokens without `exp`. Default true. */
  requireExp?: boolean;
}

export interface VerifiedToken {
  subject: string;
  scopes: string[];
  claims: JWTPayload;
}

interface PinnedKey {
  kid: string | undefined;
  alg: JwtAlgorithm;
  key: Uint8Array | CryptoKey;
  /** jwtVerify()'s options for this key (claim checks, its one algorithm), built once. */
  options: JWTVerifyOptions;
}

interface Jwks {
  get: JWTVerifyGetKey;
  algorithms: JwtAlgorithm[];
  options: JWTVerifyOptions;
}

export class JwtVerifier {
  private constructor(
    private readonly keys: PinnedKey[],
    private readonly jwks: Jwks | undefined,
  ) {}

  /** `options` as resolveGatewayOptions() checked them (keys or jwks given, jwks.url a URL); the keys themselves are checked here. */
  static async create(options: JwtOptions): Promise<JwtVerifier> {
    const checks: JWTVerifyOptions = {
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance: options.clockToleranceSec ?? 5,
      requiredClaims: options.requireExp === false ? [] : ['exp'],
    };
    const keys: PinnedKey[] = [];
    for (const [i, k] of (options.keys ?? []).entries()) {
      const where = `gateway: auth.keys[${i}]${k.kid ? ` (kid ${k.kid})` : ''}`;
      if (k.alg.startsWith('HS')) {
        if (!k.secret) throw new CoordError('invalid-argument', `${where}: ${k.alg} needs a secret`);
        if (k.secret.length < 32) throw new CoordError('invalid-argument', `${where}: an ${k.alg} secret must be at least 32 characters`);
        keys.push({ kid: k.kid, alg: k.alg, key: new TextEncoder().encode(k.secret), options: { ...checks, algorithms: [k.alg] } });
        continue;
      }
      if (!k.publicKey) throw new CoordError('invalid-argument', `${where}: ${k.alg} needs a publicKey (PEM or JWK)`);
      try {
        const key = typeof k.publicKey === 'string' ? await importSPKI(k.publicKey, k.alg) : await importJWK(k.publicKey, k.alg);
        if (key instanceof Uint8Array) throw new Error('a symmetric JWK is not a public key');
        keys.push({ kid: k.kid, alg: k.alg, key, options: { ...checks, algorithms: [k.alg] } });
      } catch (e) {
        throw new CoordError('invalid-argument', `${where}: cannot import the ${k.alg} public key: ${(e as Error).message}`, { cause: e });
      }
    }
    let jwks: Jwks | undefined;
    if (options.jwks) {
      const j = options.jwks;
      const get = createRemoteJWKSet(new URL(j.url), { cooldownDuration: j.cooldownMs ?? 30_000, cacheMaxAge: j.cacheMaxAgeMs ?? 600_000, timeoutDuration: j.timeoutMs ?? 5_000 });
      const algorithms = j.algorithms ?? ['RS256', 'ES256'];
      jwks = { get, algorithms, options: { ...checks, algorithms } };
    }
    return new JwtVerifier(keys, jwks);
  }

  /** The token's verified claims; a 401 GatewayHttpError saying why not. */
  async verify(token: string): Promise<VerifiedToken> {
    let header: { alg?: string; kid?: string };
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw unauthorized('malformed token');
    }
    const alg = header.alg;
    if (!alg || alg === 'none') throw unauthorized('unsigned tokens (alg none) are not accepted');
    const candidates = this.keys.filter((k) => k.alg === alg && (header.kid === undefined || k.kid === undefined || k.kid === header.kid));
    let payload: JWTPayload;
    try {
      if (candidates.length > 0) {
        payload = await verifyWithAny(token, candidates);
      } else if (this.jwks && (this.jwks.algorithms as string[]).includes(alg)) {
        payload = (await jwtVerify(token, this.jwks.get, this.jwks.options)).payload;
      } else {
        const known = this.keys.some((k) => k.kid !== undefined && k.kid === header.kid);
        throw unauthorized(known ? `algorithm ${alg} is not the one configured for key ${header.kid}` : `no key accepts algorithm ${alg}${header.kid ? ` with kid ${header.kid}` : ''}`);
      }
    } catch (e) {
      throw describeJoseError(e);
    }
    const sub = typeof payload.sub === 'string' ? payload.sub : '';
    return { subject: sub, scopes: scopesOf(payload), claims: payload };
  }
}

async function verifyWithAny(token: string, keys: PinnedKey[]): Promise<JWTPayload> {
  let last: unknown;
  for (const k of keys) {
    try {
      return (await jwtVerify(token, k.key, k.options)).payload;
    } catch (e) {
      last = e;
      // Only a bad signature is worth trying the next key for; a bad claim fails the same everywhere.
      if ((e as { code?: string }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') break;
    }
  }
  throw last;
}

/** `scope` (space-separated, OAuth 2) or `scp` (a list, Azure/Okta). */
export function scopesOf(payload: JWTPayload): string[] {
  const s = payload.scope ?? payload.scp;
  if (typeof s === 'string') return s.split(' ').filter(Boolean);
  if (Array.isArray(s)) return s.filter((x): x is string => typeof x === 'string');
  return [];
}

function unauthorized(why: string): GatewayHttpError {
  return new GatewayHttpError(401, grpc.status.UNAUTHENTICATED, `invalid token: ${why}`, {
    'www-authenticate': `Bearer error="invalid_token", error_description="${why.replace(/["\\]/g, "'")}"`,
  });
}

function describeJoseError(e: unknown): GatewayHttpError {
  if (e instanceof GatewayHttpError) return e;
  const err = e as { code?: string; claim?: string; reason?: string; message?: string };
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return unauthorized('token expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (err.claim === 'nbf') return unauthorized('token not yet valid (nbf)');
      if (err.claim === 'iss') return unauthorized('wrong issuer');
      if (err.claim === 'aud') return unauthorized('wrong audience');
      if (err.reason === 'missing') return unauthorized(`missing ${err.claim} claim`);
      return unauthorized(`${err.claim} claim check failed`);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return unauthorized('bad signature');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return unauthorized('algorithm not allowed');
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return unauthorized('no key in the JWKS matches the token (unknown kid)');
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return unauthorized('several JWKS keys match and none verifies');
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return unauthorized(`malformed token (${err.message})`);
    case 'ERR_JWKS_TIMEOUT':
      return new GatewayHttpError(503, grpc.status.UNAVAILABLE, 'cannot check the token: the JWKS endpoint timed out');
    default:
      return new GatewayHttpError(503, grpc.status.UNAVAILABLE, `cannot check the token: ${err.message ?? String(e)}`);
  }
}
