import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Password hashing for coord store's users: scrypt (a memory-hard KDF; etcd uses bcrypt, which
 * Node does not ship). The stored form names its parameters, so they can be raised later without
 * invalidating existing users: `scrypt$<log2 N>$<r>$<p>$<salt b64>$<key b64>`.
 */
const LOG_N = 14;
const R = 8;
const P = 1;
const KEY_BYTES = 32;

function derive(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_BYTES, { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, LOG_N, R, P);
  return ['scrypt', LOG_N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

/** True when `password` matches `stored`; false for a malformed stored hash. Constant time in the key. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = parts.slice(1, 4).map(Number);
  if (![logN, r, p].every((n) => Number.isInteger(n) && n > 0) || logN > 20) return false;
  const salt = Buffer.from(parts[4], 'base64');
  const want = Buffer.from(parts[5], 'base64');
  const got = await derive(password, salt, logN, r, p);
  return got.length === want.length && timingSafeEqual(got, want);
}

let dummy: Promise<string> | undefined;

/** Spends the time of one verification, so a missing user answers as slowly as a wrong password. */
export async function verifyNothing(password: string): Promise<false> {
  dummy ??= hashPassword('coord: no such user');
  await verifyPassword(password, await dummy);
  return false;
}
