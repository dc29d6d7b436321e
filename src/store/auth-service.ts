import type * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { AuthInfo, AuthStore, PermType } from './auth.ts';
import type { HashGate } from './auth-hash-gate.ts';
import { hashPassword, verifyNothing, verifyPassword } from './auth-password.ts';
import { Errors, isEtcdError } from './errors.ts';

type Header = { header: { revision: number } };
type Handler<Req> = (req: Req, size: number, call: grpc.ServerUnaryCall<Req, unknown>) => Header | Promise<Header>;

export interface AuthServiceDeps {
  auth: AuthStore;
  /** The current revision, for response headers (etcd puts the KV revision in auth replies). */
  rev: () => number;
  /** A fresh log index, the suffix of a simple token. */
  nextIndex: () => number;
  /** The caller of a call (from its token); throws `invalid auth token`. */
  who: (call: { metadata: grpc.Metadata }) => AuthInfo | undefined;
  /** Wraps a handler with the store's failure check, durability barrier and error mapping. */
  unary: <Req>(fn: Handler<Req>) => grpc.handleUnaryCall<Req, unknown>;
  /** Every password hash passes it: Authenticate floods are refused per peer, and hashing never takes the log's threads. */
  hashGate: HashGate;
  /** One-line operational messages (refused Authenticate floods, at most one line per 10 s). */
  log: (line: string) => void;
}

const FLOOD_LOG_INTERVAL_MS = 10_000;

/**
 * etcd's Auth service over {@link AuthStore}. Admin calls need the root role once auth is on
 * (etcd's needAdminPermission); UserGet / RoleGet also serve a user asking about itself or a role
 * it holds. Passwords are hashed before the change is applied (as etcd hashes before proposing),
 * and the admin check is repeated after hashing, since the state may have changed meanwhile.
 */
export function authHandlers(d: AuthServiceDeps): grpc.UntypedServiceImplementation {
  const { auth, unary, hashGate } = d;
  const ok = () => ({ header: { revision: d.rev() } });
  let refused = 0;
  let loggedAt = -Infinity;
  /** A password check of an Authenticate from `peer`, through the gate; a refusal is counted and logged (throttled). */
  const gated = async (peer: string, check: () => Promise<boolean>): Promise<boolean> => {
    try {
      return await hashGate.run(peer, check);
    } catch (e) {
      if (isEtcdError(e) && e.code === status.RESOURCE_EXHAUSTED) {
        refused++;
        const now = performance.now();
        if (now - loggedAt >= FLOOD_LOG_INTERVAL_MS) {
          const { running, waiting } = hashGate.load;
          d.log(`coord store: Authenticate flood: refused ${refused} call(s) with "too many requests" (latest from ${peer}); hashing ${running}, waiting ${waiting}`);
          refused = 0;
          loggedAt = now;
        }
      }
      throw e;
    }
  };
  /** A call that needs the root role when auth is on. */
  const admin = <Req>(apply: (r: Req) => Header | void) =>
    unary<Req>((r, _size, call) => {
      const info = d.who(call);
      auth.checkAdmin(info);
      return apply(r) ?? ok();
    });
  /** An admin call that hashes a password first. */
  const adminHashing = <Req extends { password: string }>(skipHash: (r: Req) => boolean, pre: (r: Req) => void, apply: (r: Req, hash: string) => void) =>
    unary<Req>(async (r, _size, call) => {
      const info = d.who(call);
      auth.checkAdmin(info);
      pre(r);
      const hash = skipHash(r) ? '' : await hashGate.run(undefined, () => hashPassword(r.password));
      auth.checkAdmin(info);
      apply(r, hash);
      return ok();
    });

  return {
    AuthEnable: admin(() => auth.authEnable()),
    AuthDisable: admin(() => auth.authDisable()),
    AuthStatus: unary(() => ({ ...ok(), enabled: auth.enabled, authRevision: auth.revision })),
    Authenticate: unary<{ name: string; password: string }>(async (r, _size, call) => {
      // etcd resolves a token sent along even here (a stale one fails the call).
      d.who(call);
      const peer = call.getPeer();
      for (;;) {
        if (!auth.enabled) throw Errors.authNotEnabled();
        const revision = auth.revision;
        const user = auth.user(r.name);
        if (user?.noPassword) throw Errors.noPasswordUser();
        // A missing user costs a hash too, so it answers as slowly as a wrong password.
        if (!(await gated(peer, () => (user ? verifyPassword(r.password, user.password) : verifyNothing(r.password))))) throw Errors.authFailed();
        // The check took a while; if users or roles changed meanwhile, check against the new state.
        if (auth.revision !== revision) continue;
        if (!auth.enabled) throw Errors.authNotEnabled();
        return { ...ok(), token: auth.assignToken(r.name, d.nextIndex()) };
      }
    }),
    UserAdd: adminHashing<{ name: string; password: string; options: { no_password: boolean } | null }>(
      (r) => !!r.options?.no_password,
      (r) => {
        if (r.name.length === 0) throw Errors.userEmpty();
      },
      (r, hash) => auth.userAdd(r.name, hash, !!r.options?.no_password),
    ),
    UserChangePassword: adminHashing<{ name: string; password: string }>(
      () => false,
      () => {},
      (r, hash) => auth.userChangePassword(r.name, hash),
    ),
    UserGet: unary<{ name: string }>((r, _size, call) => {
      const info = d.who(call);
      try {
        auth.checkAdmin(info);
      } catch (e) {
        if (r.name !== info?.username) throw e;
      }
      const user = auth.user(r.name);
      if (!user) throw Errors.userNotFound();
      return { ...ok(), roles: user.roles };
    }),
    UserList: admin(() => ({ ...ok(), users: auth.userList() })),
    UserDelete: admin<{ name: string }>((r) => auth.userDelete(r.name)),
    UserGrantRole: admin<{ user: string; role: string }>((r) => auth.userGrantRole(r.user, r.role)),
    UserRevokeRole: admin<{ name: string; role: string }>((r) => auth.userRevokeRole(r.name, r.role)),
    RoleAdd: admin<{ name: string }>((r) => auth.roleAdd(r.name)),
    RoleGet: unary<{ role: string }>((r, _size, call) => {
      const info = d.who(call);
      try {
        auth.checkAdmin(info);
      } catch (e) {
        if (!info || !auth.hasRole(info.username, r.role)) throw e;
      }
      const role = auth.roleGet(r.role);
      return { ...ok(), perm: role.perms.map((p) => ({ permType: p.permType, key: p.key, range_end: p.rangeEnd })) };
    }),
    RoleList: admin(() => ({ ...ok(), roles: auth.roleList() })),
    RoleDelete: admin<{ role: string }>((r) => auth.roleDelete(r.role)),
    RoleGrantPermission: admin<{ name: string; perm: { permType: PermType; key: Buffer; range_end: Buffer } | null }>((r) => {
      if (!r.perm) throw Errors.permissionNotGiven();
      auth.roleGrantPermission(r.name, { permType: r.perm.permType, key: r.perm.key, rangeEnd: r.perm.range_end });
    }),
    RoleRevokePermission: admin<{ role: string; key: Buffer; range_end: Buffer }>((r) => auth.roleRevokePermission(r.role, r.key, r.range_end)),
  };
}
