import { randomInt } from 'node:crypto';
import { Errors } from './errors.ts';
import type { PutRequest, TxnRequest } from '../protocol/etcd-types.ts';

/**
 * etcd 3.4's auth model (auth/store.go) for coord store: users with hashed passwords and roles,
 * roles with key permissions, the `root` user/role rules, an auth revision bumped by every change,
 * and simple tokens. Nothing here does I/O: every change is handed to `onChange` as the whole new
 * auth state (it is small), which the store logs like any other change.
 */

/** etcd's authpb.Permission.Type: 0 READ, 1 WRITE, 2 READWRITE. */
export type PermType = 0 | 1 | 2;
const READ = 0;
const WRITE = 1;
const READWRITE = 2;

export interface AuthPerm {
  permType: PermType;
  key: Buffer;
  rangeEnd: Buffer;
}

export interface AuthUser {
  name: string;
  /** scrypt hash (see auth-password.ts); empty for a user added with `no_password`. */
  password: string;
  /** Sorted, as etcd keeps them. */
  roles: string[];
  noPassword: boolean;
}

export interface AuthRole {
  name: string;
  /** Sorted by key, as etcd keeps them. */
  perms: AuthPerm[];
}

/** Everything that is persisted: what a log record or a snapshot carries. */
export interface AuthData {
  enabled: boolean;
  revision: number;
  users: AuthUser[];
  roles: AuthRole[];
}

/** Who a request is from: the user its token names. */
export interface AuthInfo {
  username: string;
}

/** The keys attached to a lease (latin1 strings, as the lessor keeps them); undefined for no such lease. */
export type LeaseKeys = (lease: bigint) => Iterable<string> | undefined;

export interface AuthOptions {
  /** Idle lifetime of a simple token: every use restarts it, as etcd's `--auth-token-ttl`. */
  tokenTtlMs: number;
  onChange: (data: AuthData) => void;
  now?: () => number;
}

const ROOT = 'root';
const EMPTY = Buffer.alloc(0);
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** etcd's BytesAffineComparable: an empty bound is +infinity. */
function cmp(a: Buffer, b: Buffer): number {
  if (a.length === 0) return b.length === 0 ? 0 : 1;
  if (b.length === 0) return -1;
  return Buffer.compare(a, b);
}

interface Interval {
  begin: Buffer;
  end: Buffer;
}

const overlaps = (x: Interval, y: Interval) => cmp(x.begin, y.end) < 0 && cmp(y.begin, x.end) < 0;
const point = (key: Buffer): Interval => ({ begin: key, end: Buffer.concat([key, Buffer.from([0])]) });
const isZeroByte = (b: Buffer) => b.length === 1 && b[0] === 0;

function permInterval(p: AuthPerm): Interval {
  if (p.rangeEnd.length === 0) return point(p.key);
  return { begin: p.key, end: isZeroByte(p.rangeEnd) ? EMPTY : p.rangeEnd };
}

/** True when the intervals cover `want` without a gap (etcd's IntervalTree.Contains). */
function covers(intervals: Interval[], want: Interval): boolean {
  const hits = intervals.filter((i) => overlaps(i, want)).sort((a, b) => cmp(a.begin, b.begin));
  if (hits.length === 0) return false;
  let maxEnd = hits[0].end;
  for (const h of hits.slice(1)) {
    if (cmp(maxEnd, h.begin) < 0) return false;
    if (cmp(h.end, maxEnd) > 0) maxEnd = h.end;
  }
  return cmp(hits[0].begin, want.begin) <= 0 && cmp(maxEnd, want.end) >= 0;
}

interface Merged {
  read: Interval[];
  write: Interval[];
}

export class AuthStore {
  enabled = false;
  /** etcd starts its auth revision at 1 and bumps it on every change. */
  revision = 1;
  private users = new Map<string, AuthUser>();
  private roles = new Map<string, AuthRole>();
  private merged = new Map<string, Merged>();
  private tokens = new Map<string, { user: string; expires: number }>();
  private readonly now: () => number;

  constructor(private readonly options: AuthOptions) {
    this.now = options.now ?? Date.now;
  }

  // --- persistence ---

  data(): AuthData {
    return { enabled: this.enabled, revision: this.revision, users: [...this.users.values()], roles: [...this.roles.values()] };
  }

  /** Replaces the state (recovery). Tokens are not persisted: after a restart, clients authenticate again, as with etcd. */
  load(d: AuthData): void {
    this.enabled = d.enabled;
    this.revision = d.revision;
    this.users = new Map(d.users.map((u) => [u.name, u]));
    this.roles = new Map(d.roles.map((r) => [r.name, r]));
    this.tokens.clear();
    this.refresh();
  }

  private commit(): void {
    this.revision++;
    this.refresh();
    this.options.onChange(this.data());
  }

  private refresh(): void {
    this.merged.clear();
    for (const u of this.users.values()) {
      const m: Merged = { read: [], write: [] };
      for (const name of u.roles) {
        for (const p of this.roles.get(name)?.perms ?? []) {
          const ivl = permInterval(p);
          if (p.permType === READ || p.permType === READWRITE) m.read.push(ivl);
          if (p.permType === WRITE || p.permType === READWRITE) m.write.push(ivl);
        }
      }
      this.merged.set(u.name, m);
    }
  }

  // --- tokens ---

  /**
   * The caller named by a request's token, undefined without one. A token that is unknown,
   * expired, or from before AuthDisable / a password change / the user's deletion is
   * `invalid auth token`, whether or not auth is on now (as etcd).
   */
  identify(token: string | undefined): AuthInfo | undefined {
    if (token === undefined) return undefined;
    const t = this.tokens.get(token);
    const now = this.now();
    if (!t || t.expires <= now) {
      if (t) this.tokens.delete(token);
      throw Errors.invalidAuthToken();
    }
    t.expires = now + this.options.tokenTtlMs;
    return { username: t.user };
  }

  /** etcd's simple token: 16 random letters, a dot, and a log index; opaque to clients. */
  assignToken(user: string, index: number): string {
    if (this.tokens.size > 1024) this.sweep();
    let prefix = '';
    for (let i = 0; i < 16; i++) prefix += LETTERS[randomInt(LETTERS.length)];
    const token = `${prefix}.${index}`;
    this.tokens.set(token, { user, expires: this.now() + this.options.tokenTtlMs });
    return token;
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, t] of this.tokens) if (t.expires <= now) this.tokens.delete(k);
  }

  private invalidateUser(name: string): void {
    for (const [k, t] of this.tokens) if (t.user === name) this.tokens.delete(k);
  }

  // --- checks (etcd's isOpPermitted / IsAdminPermitted) ---

  private permitted(info: AuthInfo | undefined, key: Buffer, rangeEnd: Buffer, write: boolean): void {
    if (!this.enabled) return;
    if (!info) throw Errors.userEmpty();
    const user = this.users.get(info.username);
    if (!user) throw Errors.permissionDenied();
    if (user.roles.includes(ROOT)) return;
    const m = this.merged.get(user.name)!;
    const have = write ? m.write : m.read;
    let ok: boolean;
    if (rangeEnd.length === 0) {
      const p = point(key);
      ok = have.some((i) => overlaps(i, p));
    } else {
      ok = covers(have, { begin: key, end: isZeroByte(rangeEnd) ? EMPTY : rangeEnd });
    }
    if (!ok) throw Errors.permissionDenied();
  }

  checkRead(info: AuthInfo | undefined, key: Buffer, rangeEnd: Buffer): void {
    this.permitted(info, key, rangeEnd, false);
  }

  checkWrite(info: AuthInfo | undefined, key: Buffer, rangeEnd: Buffer): void {
    this.permitted(info, key, rangeEnd, true);
  }

  /**
   * A put, alone or inside a txn: write on the key, write on every key already attached to its
   * lease (etcd's checkLeasePuts), and read on the key for `prev_kv`.
   */
  checkPut(info: AuthInfo | undefined, r: Pick<PutRequest, 'key' | 'lease' | 'prev_kv'>, leaseKeys: LeaseKeys): void {
    if (!this.enabled) return;
    this.checkWrite(info, r.key, EMPTY);
    this.checkLeaseKeys(info, leaseKeys(BigInt(r.lease)));
    if (r.prev_kv) this.checkRead(info, r.key, EMPTY);
  }

  /**
   * etcd's checkTxnAuth: read on every compare, and each op's own permission on both branches.
   * Stricter than etcd 3.4.23: nested txns are checked, and a put is checked as a plain put
   * (prev_kv and lease), where 3.4.23 checks only write on its key (GHSA-x35m-3gp4-4fh5).
   */
  checkTxn(info: AuthInfo | undefined, r: TxnRequest, leaseKeys: LeaseKeys): void {
    if (!this.enabled) return;
    for (const c of r.compare) this.checkRead(info, c.key, c.range_end);
    for (const op of [...r.success, ...r.failure]) {
      if (op.request === 'request_range') this.checkRead(info, op.request_range!.key, op.request_range!.range_end);
      else if (op.request === 'request_put') this.checkPut(info, op.request_put!, leaseKeys);
      else if (op.request === 'request_delete_range') {
        const d = op.request_delete_range!;
        if (d.prev_kv) this.checkRead(info, d.key, d.range_end);
        this.checkWrite(info, d.key, d.range_end);
      } else if (op.request === 'request_txn') this.checkTxn(info, op.request_txn!, leaseKeys);
    }
  }

  /** etcd's checkLeasePuts: changing a lease's keys (revoking it, or attaching a put) needs write on each. */
  checkLeaseKeys(info: AuthInfo | undefined, keys: Iterable<string> | undefined): void {
    if (!this.enabled || !keys) return;
    for (const k of keys) this.checkWrite(info, Buffer.from(k, 'latin1'), EMPTY);
  }

  /**
   * Listing the keys of leases (LeaseTimeToLive with `keys`) or the leases themselves
   * (LeaseLeases): a token, and read on every attached key unless the user has the root role
   * (etcd's checkLeaseTimeToLive / checkLeaseLeases, the fix of CVE-2023-32082).
   */
  checkLeaseRead(info: AuthInfo | undefined, keys: Iterable<string>): void {
    if (!this.enabled) return;
    if (!info) throw Errors.userEmpty();
    if (this.users.get(info.username)?.roles.includes(ROOT)) return;
    for (const k of keys) this.checkRead(info, Buffer.from(k, 'latin1'), EMPTY);
  }

  checkAdmin(info: AuthInfo | undefined): void {
    if (!this.enabled) return;
    if (!info || info.username === '') throw Errors.userEmpty();
    const user = this.users.get(info.username);
    if (!user) throw Errors.userNotFound();
    if (!user.roles.includes(ROOT)) throw Errors.permissionDenied();
  }

  hasRole(user: string, role: string): boolean {
    return this.users.get(user)?.roles.includes(role) ?? false;
  }

  user(name: string): AuthUser | undefined {
    return this.users.get(name);
  }

  // --- changes (each validates first, then changes and commits) ---

  authEnable(): void {
    if (this.enabled) return;
    const root = this.users.get(ROOT);
    if (!root) throw Errors.rootUserNotExist();
    if (!root.roles.includes(ROOT)) throw Errors.rootRoleNotExist();
    this.enabled = true;
    this.tokens.clear();
    // etcd does not bump the revision here; the enabled flag is persisted all the same.
    this.refresh();
    this.options.onChange(this.data());
  }

  authDisable(): void {
    if (!this.enabled) return;
    this.enabled = false;
    this.tokens.clear();
    this.commit();
  }

  userAdd(name: string, passwordHash: string, noPassword: boolean): void {
    if (name.length === 0) throw Errors.userEmpty();
    if (this.users.has(name)) throw Errors.userAlreadyExist();
    this.users.set(name, { name, password: noPassword ? '' : passwordHash, roles: [], noPassword });
    this.commit();
  }

  userDelete(name: string): void {
    if (this.enabled && name === ROOT) throw Errors.invalidAuthMgmt();
    if (!this.users.has(name)) throw Errors.userNotFound();
    this.users.delete(name);
    this.invalidateUser(name);
    this.commit();
  }

  userChangePassword(name: string, passwordHash: string): void {
    const user = this.users.get(name);
    if (!user) throw Errors.userNotFound();
    this.users.set(name, { ...user, password: passwordHash });
    this.invalidateUser(name);
    this.commit();
  }

  userGrantRole(name: string, role: string): void {
    const user = this.users.get(name);
    if (!user) throw Errors.userNotFound();
    if (role !== ROOT && !this.roles.has(role)) throw Errors.roleNotFound();
    if (user.roles.includes(role)) return;
    this.users.set(name, { ...user, roles: [...user.roles, role].sort(byCodeUnit) });
    this.commit();
  }

  userRevokeRole(name: string, role: string): void {
    if (this.enabled && name === ROOT && role === ROOT) throw Errors.invalidAuthMgmt();
    const user = this.users.get(name);
    if (!user) throw Errors.userNotFound();
    if (!user.roles.includes(role)) throw Errors.roleNotGranted();
    this.users.set(name, { ...user, roles: user.roles.filter((r) => r !== role) });
    this.commit();
  }

  userList(): string[] {
    return [...this.users.keys()].sort(byCodeUnit);
  }

  roleAdd(name: string): void {
    if (name.length === 0) throw Errors.roleEmpty();
    if (this.roles.has(name)) throw Errors.roleAlreadyExist();
    this.roles.set(name, { name, perms: [] });
    this.commit();
  }

  roleGet(name: string): AuthRole {
    const role = this.roles.get(name);
    if (!role) throw Errors.roleNotFound();
    return role;
  }

  roleList(): string[] {
    return [...this.roles.keys()].sort(byCodeUnit);
  }

  roleDelete(name: string): void {
    if (this.enabled && name === ROOT) throw Errors.invalidAuthMgmt();
    if (!this.roles.has(name)) throw Errors.roleNotFound();
    this.roles.delete(name);
    for (const u of this.users.values()) {
      if (u.roles.includes(name)) this.users.set(u.name, { ...u, roles: u.roles.filter((r) => r !== name) });
    }
    this.commit();
  }

  roleGrantPermission(name: string, perm: AuthPerm): void {
    const role = this.roles.get(name);
    if (!role) throw Errors.roleNotFound();
    const perms = role.perms.map((p) => ({ ...p }));
    // etcd looks only at the first permission at or after the key (sort.Search) to update in place.
    const idx = perms.findIndex((p) => Buffer.compare(p.key, perm.key) >= 0);
    if (idx >= 0 && perms[idx].key.equals(perm.key) && perms[idx].rangeEnd.equals(perm.rangeEnd)) {
      perms[idx].permType = perm.permType;
    } else {
      perms.push({ permType: perm.permType, key: Buffer.from(perm.key), rangeEnd: Buffer.from(perm.rangeEnd) });
      perms.sort((a, b) => Buffer.compare(a.key, b.key));
    }
    this.roles.set(name, { name, perms });
    this.commit();
  }

  roleRevokePermission(name: string, key: Buffer, rangeEnd: Buffer): void {
    const role = this.roles.get(name);
    if (!role) throw Errors.roleNotFound();
    const perms = role.perms.filter((p) => !(p.key.equals(key) && p.rangeEnd.equals(rangeEnd)));
    if (perms.length === role.perms.length) throw Errors.permissionNotGranted();
    this.roles.set(name, { name, perms });
    this.commit();
  }
}

const byCodeUnit = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** JSON form of the auth state for log records and snapshots (buffers as base64). */
export function encodeAuthData(d: AuthData): Buffer {
  return Buffer.from(
    JSON.stringify({
      ...d,
      roles: d.roles.map((r) => ({ name: r.name, perms: r.perms.map((p) => ({ t: p.permType, k: p.key.toString('base64'), e: p.rangeEnd.toString('base64') })) })),
    }),
  );
}

export function decodeAuthData(buf: Buffer): AuthData {
  const j = JSON.parse(buf.toString()) as {
    enabled: boolean;
    revision: number;
    users: AuthUser[];
    roles: Array<{ name: string; perms: Array<{ t: PermType; k: string; e: string }> }>;
  };
  if (typeof j.enabled !== 'boolean' || typeof j.revision !== 'number' || !Array.isArray(j.users) || !Array.isArray(j.roles)) {
    throw new Error('malformed auth state');
  }
  return {
    enabled: j.enabled,
    revision: j.revision,
    users: j.users,
    roles: j.roles.map((r) => ({ name: r.name, perms: r.perms.map((p) => ({ permType: p.t, key: Buffer.from(p.k, 'base64'), rangeEnd: Buffer.from(p.e, 'base64') })) })),
  };
}
