// etcd's Auth API: users, roles and permissions, the root rules, AuthEnable/AuthDisable, simple
// tokens (expiry, invalidation) and the permission check of every KV / Watch / Lease / Txn /
// Maintenance call, with etcd 3.4's errors and gRPC codes. Tests run in order on one backend per
// describe: the first ones set up users and roles with auth off, later ones turn it on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { backends } from '../helpers/backends.ts';
import { eventually, prefixEnd, rev, useBackend } from '../helpers/conformance.ts';
import { callError, RawClient, type CallError } from '../helpers/raw-client.ts';

const err = (code: status, details: string): CallError => ({ code, details });
const USER_EMPTY = err(status.INVALID_ARGUMENT, 'etcdserver: user name is empty');
const DENIED = err(status.PERMISSION_DENIED, 'etcdserver: permission denied');
const BAD_TOKEN = err(status.UNAUTHENTICATED, 'etcdserver: invalid auth token');
const AUTH_FAILED = err(status.INVALID_ARGUMENT, 'etcdserver: authentication failed, invalid user ID or password');
const NOT_ENABLED = err(status.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled');
const MGMT = err(status.INVALID_ARGUMENT, 'etcdserver: invalid auth management');
const READ = 0;
const WRITE = 1;
const READWRITE = 2;
/** Idle token lifetime both servers are started with (etcd `--auth-token-ttl`). */
const TOKEN_TTL_S = 4;

describe('auth', () => {
  for (const b of backends()) {
    describe(b.name, { skip: b.skip }, () => {
      const t = useBackend(b, { authTokenTtlSeconds: TOKEN_TTL_S });
      const auth = <R = Record<string, unknown>>(method: string, req: unknown = {}, c: RawClient = t.client) => c.authCall<R>(method, req);
      /** A new client holding a token of `name`. */
      const login = async (name: string, password: string): Promise<RawClient> => {
        const c = t.newClient();
        const res = await auth<{ token: string }>('Authenticate', { name, password }, c);
        c.token = res.token;
        return c;
      };
      let root: RawClient;
      let alice: RawClient;
      let alicePassword = 'alicepw';
      /** Fresh tokens for root and alice (a token left unused for the TTL between tests expires). */
      const relogin = async () => {
        root = await login('root', 'rootpw');
        alice = await login('alice', alicePassword);
      };

      it('Authenticate while auth is off fails with FailedPrecondition', async () => {
        assert.deepEqual(await callError(auth('Authenticate', { name: 'root', password: 'x' })), NOT_ENABLED);
      });

      it('adds users (sorted list, duplicates and empty names refused) and reports their roles', async () => {
        const r0 = await t.client.revision();
        const added = await auth<{ header: { revision: string } }>('UserAdd', { name: 'root', password: 'rootpw' });
        assert.equal(rev(added.header as never), r0, 'auth replies carry the KV revision, unchanged');
        await auth('UserAdd', { name: 'alice', password: 'alicepw' });
        await auth('UserAdd', { name: 'bob', password: 'bobpw' });
        assert.deepEqual((await auth<{ users: string[] }>('UserList')).users, ['alice', 'bob', 'root']);
        assert.deepEqual(await callError(auth('UserAdd', { name: 'alice', password: 'x' })), err(status.FAILED_PRECONDITION, 'etcdserver: user name already exists'));
        assert.deepEqual(await callError(auth('UserAdd', { name: '', password: 'x' })), USER_EMPTY);
        assert.deepEqual((await auth<{ roles: string[] }>('UserGet', { name: 'alice' })).roles, []);
        assert.deepEqual(await callError(auth('UserGet', { name: 'nobody' })), err(status.FAILED_PRECONDITION, 'etcdserver: user name not found'));
        assert.equal(await t.client.revision(), r0, 'auth changes do not bump the KV revision');
      });

      it('adds roles and grants permissions (kept sorted by key; a repeated grant updates the type)', async () => {
        await auth('RoleAdd', { name: 'app' });
        await auth('RoleAdd', { name: 'ops' });
        assert.deepEqual(await callError(auth('RoleAdd', { name: 'app' })), err(status.FAILED_PRECONDITION, 'etcdserver: role name already exists'));
        assert.deepEqual(await callError(auth('RoleAdd', { name: '' })), err(status.INVALID_ARGUMENT, 'etcdserver: role name is empty'));
        const grant = (name: string, permType: number, key: string, range_end = '') => auth('RoleGrantPermission', { name, perm: { permType, key, range_end } });
        await grant('app', READWRITE, '/app/', '/app0'); // a prefix
        await grant('app', READ, '/ro'); // one key
        await grant('app', WRITE, 'w1', 'w5'); // a range, write only
        await grant('app', WRITE, '/ro'); // same key and end: the type is updated
        await grant('app', READ, '/ro');
        await grant('ops', READ, '/', '\0'); // from a key on
        const perms = (await auth<{ perm: Array<{ permType: number; key: Buffer; range_end: Buffer }> }>('RoleGet', { role: 'app' })).perm;
        assert.deepEqual(
          perms.map((p) => [p.permType, p.key.toString(), p.range_end.toString()]),
          [
            [READWRITE, '/app/', '/app0'],
            [READ, '/ro', ''],
            [WRITE, 'w1', 'w5'],
          ],
        );
        assert.deepEqual((await auth<{ roles: string[] }>('RoleList')).roles, ['app', 'ops']);
        assert.deepEqual(await callError(grant('nope', READ, 'k')), err(status.FAILED_PRECONDITION, 'etcdserver: role name not found'));
        assert.deepEqual(await callError(auth('RoleGet', { role: 'nope' })), err(status.FAILED_PRECONDITION, 'etcdserver: role name not found'));
        assert.deepEqual(
          await callError(auth('RoleRevokePermission', { role: 'app', key: '/other' })),
          err(status.FAILED_PRECONDITION, 'etcdserver: permission is not granted to the role'),
        );
      });

      it('grants and revokes roles; the root role needs no RoleAdd', async () => {
        await auth('UserGrantRole', { user: 'alice', role: 'app' });
        await auth('UserGrantRole', { user: 'alice', role: 'app' }); // again: no error
        await auth('UserGrantRole', { user: 'bob', role: 'ops' });
        assert.deepEqual(await callError(auth('UserGrantRole', { user: 'alice', role: 'nope' })), err(status.FAILED_PRECONDITION, 'etcdserver: role name not found'));
        assert.deepEqual(await callError(auth('UserGrantRole', { user: 'nobody', role: 'app' })), err(status.FAILED_PRECONDITION, 'etcdserver: user name not found'));
        assert.deepEqual(await callError(auth('UserRevokeRole', { name: 'bob', role: 'app' })), err(status.FAILED_PRECONDITION, 'etcdserver: role is not granted to the user'));
        assert.deepEqual(await callError(auth('AuthEnable')), err(status.FAILED_PRECONDITION, 'etcdserver: root user does not have root role'));
        await auth('UserGrantRole', { user: 'root', role: 'root' });
        assert.deepEqual((await auth<{ roles: string[] }>('UserGet', { name: 'root' })).roles, ['root']);
        assert.deepEqual((await auth<{ roles: string[] }>('RoleList')).roles, ['app', 'ops'], 'granting root does not create the role');
      });

      it('AuthEnable is refused without a root user, then turns auth on', async () => {
        await auth('UserDelete', { name: 'root' });
        assert.deepEqual(await callError(auth('AuthEnable')), err(status.FAILED_PRECONDITION, 'etcdserver: root user does not exist'));
        await auth('UserAdd', { name: 'root', password: 'rootpw' });
        await auth('UserGrantRole', { user: 'root', role: 'root' });
        await t.client.put({ key: '/ro', value: 'seed' });
        await auth('AuthEnable');
        await relogin();
        assert.match(root.token ?? '', /^[A-Za-z]{16}\.\d+$/, "etcd's simple token: 16 letters, a dot, an index");
        await auth('AuthEnable', {}, root); // again: no error
      });

      it('without a token, every checked call is refused with "user name is empty"', async () => {
        const c = t.client;
        assert.deepEqual(await callError(c.range({ key: '/app/x' })), USER_EMPTY);
        assert.deepEqual(await callError(c.put({ key: '/app/x', value: 'v' })), USER_EMPTY);
        assert.deepEqual(await callError(c.deleteRange({ key: '/app/x' })), USER_EMPTY);
        assert.deepEqual(await callError(c.txn({ compare: [{ key: '/app/x', target: 0, result: 0, version: 0 }], success: [], failure: [] })), USER_EMPTY);
        assert.deepEqual(await callError(auth('UserList')), USER_EMPTY);
        // Maintenance calls return the auth package's own error, unmapped (etcd 3.4).
        assert.deepEqual(await callError(c.maintenanceCall('Defragment')), err(status.UNKNOWN, 'auth: user name is empty'));
        const w = c.watchStream();
        w.create({ key: '/app/x' });
        const refused = await w.next();
        assert.deepEqual(
          { created: refused.created, canceled: refused.canceled, watch_id: refused.watch_id, cancel_reason: refused.cancel_reason },
          { created: true, canceled: true, watch_id: '-1', cancel_reason: 'rpc error: code = InvalidArgument desc = etcdserver: user name is empty' },
        );
        w.close();
        // Not checked by etcd 3.4: Status, MemberList, LeaseGrant, Compact.
        await c.status();
        await c.memberList();
        const lease = await c.leaseGrant({ TTL: 60 });
        await c.leaseRevoke({ ID: lease.ID });
      });

      it('Authenticate refuses a wrong password and an unknown user alike; a forged token is Unauthenticated', async () => {
        assert.deepEqual(await callError(auth('Authenticate', { name: 'alice', password: 'wrong' })), AUTH_FAILED);
        assert.deepEqual(await callError(auth('Authenticate', { name: 'nobody', password: 'x' })), AUTH_FAILED);
        // (A token naming a log index not reached yet makes etcd wait for it: forged ones use index 1.)
        for (const token of ['abcdefghijklmnop.1', 'not-a-token']) {
          const forged = t.newClient();
          forged.token = token;
          assert.deepEqual(await callError(forged.range({ key: '/app/x' })), BAD_TOKEN);
          assert.deepEqual(await callError(forged.put({ key: '/app/x', value: 'v' })), BAD_TOKEN);
          assert.deepEqual(await callError(forged.leaseGrant({ TTL: 60 })), BAD_TOKEN);
          assert.deepEqual(await callError(auth('Authenticate', { name: 'alice', password: 'alicepw' }, forged)), BAD_TOKEN, 'even on Authenticate');
          assert.deepEqual(await callError(forged.maintenanceCall('Defragment')), err(status.UNKNOWN, 'auth: invalid auth token'));
          await forged.status(); // not checked
          const w = forged.watchStream();
          w.create({ key: '/app/x' });
          assert.equal((await w.next()).cancel_reason, 'rpc error: code = Unauthenticated desc = etcdserver: invalid auth token');
          w.close();
        }
      });

      it('checks ranges, prefixes, single keys and write-only grants per call', async () => {
        await relogin();
        await alice.put({ key: '/app/x', value: '1' });
        assert.equal((await alice.range({ key: '/app/x' })).kvs.length, 1);
        assert.equal((await alice.range({ key: '/app/', range_end: prefixEnd('/app/') })).kvs.length, 1);
        assert.deepEqual(await callError(alice.range({ key: '/ap', range_end: prefixEnd('/ap') })), DENIED, 'wider than the grant');
        assert.equal((await alice.range({ key: '/ro' })).kvs[0].value.toString(), 'seed');
        assert.deepEqual(await callError(alice.put({ key: '/ro', value: 'x' })), DENIED, 'read only');
        await alice.put({ key: 'w2', value: 'x' });
        assert.deepEqual(await callError(alice.range({ key: 'w2' })), DENIED, 'write only');
        assert.deepEqual(await callError(alice.put({ key: 'w2', value: 'y', prev_kv: true })), DENIED, 'prev_kv needs read');
        assert.equal((await alice.deleteRange({ key: 'w1', range_end: 'w3' })).deleted, '1');
        assert.deepEqual(await callError(alice.deleteRange({ key: 'w1', range_end: 'w6' })), DENIED, 'past the range');
        assert.deepEqual(await callError(alice.deleteRange({ key: 'w2', prev_kv: true })), DENIED, 'prev_kv needs read');
        assert.deepEqual(await callError(alice.range({ key: '/zzz' })), DENIED);
        const bob = await login('bob', 'bobpw');
        assert.equal((await bob.range({ key: '/', range_end: '\0' })).count, '2', 'from-key grant covers every key from /');
        assert.deepEqual(await callError(bob.range({ key: '\0', range_end: '\0' })), DENIED);
      });

      it('checks every compare and the ops of both txn branches', async () => {
        await relogin();
        const cmp = { key: '/app/x', target: 0, result: 1, version: 0 }; // version > 0: true
        const put = (key: string) => ({ request_put: { key, value: 'v' } });
        const res = await alice.txn({ compare: [cmp], success: [put('/app/y')], failure: [{ request_range: { key: '/ro' } }] });
        assert.equal(res.succeeded, true);
        assert.deepEqual(await callError(alice.txn({ compare: [cmp], success: [put('/app/y')], failure: [put('/ro')] })), DENIED, 'the branch not taken is checked too');
        assert.deepEqual(await callError(alice.txn({ compare: [{ ...cmp, key: 'w2' }], success: [], failure: [] })), DENIED, 'compare needs read');
        assert.deepEqual(await callError(alice.txn({ compare: [], success: [{ request_delete_range: { key: 'w2', prev_kv: true } }], failure: [] })), DENIED);
      });

      it('refuses a watch on a range the user may not read, on the same stream as allowed ones', async () => {
        await relogin();
        const w = alice.watchStream();
        const ok = await w.watch({ key: '/app/', range_end: prefixEnd('/app/') });
        assert.equal(ok.canceled, false);
        w.create({ key: '/other' });
        const refused = await w.next();
        assert.deepEqual(
          { created: refused.created, canceled: refused.canceled, watch_id: refused.watch_id, cancel_reason: refused.cancel_reason },
          { created: true, canceled: true, watch_id: '-1', cancel_reason: 'rpc error: code = PermissionDenied desc = etcdserver: permission denied' },
        );
        await root.put({ key: '/app/z', value: '1' });
        const { events } = await w.collect((e) => e.length === 1);
        assert.equal(events[0].kv?.key.toString(), '/app/z', 'the allowed watcher still works');
        w.close();
      });

      it('revoking a lease, or putting on one, needs write on every key attached to it', async () => {
        await relogin();
        const lease = await root.leaseGrant({ TTL: 60 });
        await root.put({ key: '/ro', value: 'seed', lease: lease.ID });
        assert.deepEqual(await callError(alice.leaseRevoke({ ID: lease.ID })), DENIED);
        assert.deepEqual(await callError(alice.put({ key: '/app/l', value: 'v', lease: lease.ID })), DENIED);
        const own = await alice.leaseGrant({ TTL: 60 });
        await alice.put({ key: '/app/l', value: 'v', lease: own.ID });
        await alice.leaseRevoke({ ID: own.ID });
        await root.leaseRevoke({ ID: lease.ID });
        await root.put({ key: '/ro', value: 'seed' });
      });

      it('a put inside a txn needs what a plain put needs: read for prev_kv, write on the keys of its lease', async () => {
        await relogin();
        await root.put({ key: 'w3', value: 'secret' }); // alice may write w3, not read it
        const lease = await root.leaseGrant({ TTL: 60 });
        await root.put({ key: '/ro', value: 'seed', lease: lease.ID }); // alice may read /ro, not write it
        assert.deepEqual(await callError(alice.put({ key: 'w3', value: 'x', prev_kv: true })), DENIED, 'a plain put');
        assert.deepEqual(await callError(alice.put({ key: '/app/l', value: 'v', lease: lease.ID })), DENIED, 'a plain put');
        const txn = (op: object) => alice.txn({ compare: [], success: [op], failure: [] });
        const putPrev = { request_put: { key: 'w3', value: 'x', prev_kv: true } };
        const putLease = { request_put: { key: '/app/l', value: 'v', lease: lease.ID } };
        if (b.name === 'etcd') {
          // etcd 3.4.23 skips both checks inside a txn (GHSA-x35m-3gp4-4fh5, fixed in 3.4.44,
          // 3.5.30 and 3.6.11); coord store checks them (README, deliberate differences).
          const res = await txn(putPrev);
          assert.equal(res.responses[0].response_put?.prev_kv?.value.toString(), 'secret', 'etcd 3.4.23 returns the old value');
          await txn(putLease);
          const attached = await root.leaseTimeToLive({ ID: lease.ID, keys: true });
          assert.deepEqual(attached.keys.map(String).sort(), ['/app/l', '/ro'], 'etcd 3.4.23 attaches the key');
        } else {
          assert.deepEqual(await callError(txn(putPrev)), DENIED);
          assert.deepEqual(await callError(txn(putLease)), DENIED);
          assert.deepEqual(await callError(alice.txn({ compare: [], success: [], failure: [putPrev] })), DENIED, 'the branch not taken');
          assert.deepEqual(await callError(txn({ request_txn: { compare: [], success: [putLease], failure: [] } })), DENIED, 'a nested txn');
          assert.equal((await root.range({ key: 'w3' })).kvs[0].value.toString(), 'secret');
          assert.deepEqual((await root.leaseTimeToLive({ ID: lease.ID, keys: true })).keys.map(String), ['/ro']);
          // Allowed: no prev_kv, and a lease whose keys alice may write.
          await txn({ request_put: { key: 'w3', value: 'y' } });
          const own = await alice.leaseGrant({ TTL: 60 });
          await txn({ request_put: { key: '/app/l', value: 'v', lease: own.ID, prev_kv: true } });
          await alice.leaseRevoke({ ID: own.ID });
        }
        await root.leaseRevoke({ ID: lease.ID });
        await root.put({ key: '/ro', value: 'seed' });
        await root.deleteRange({ key: 'w3' });
      });

      it('LeaseTimeToLive with keys and LeaseLeases need a token and read on every attached key (CVE-2023-32082)', async () => {
        await relogin();
        const lease = await root.leaseGrant({ TTL: 60 });
        await root.put({ key: '/app/k', value: 'v', lease: lease.ID });
        await root.put({ key: 'w3', value: 'v', lease: lease.ID }); // alice may not read w3
        const anon = t.client;
        const keys = (r: { keys: Buffer[] }) => r.keys.map(String).sort();
        assert.deepEqual(keys(await root.leaseTimeToLive({ ID: lease.ID, keys: true })), ['/app/k', 'w3']);
        assert.ok((await root.leaseLeases()).leases.some((l) => l.ID === lease.ID));
        // Without keys, TimeToLive stays unchecked (as in the fixed etcd 3.4.26 / 3.5.9).
        assert.equal((await anon.leaseTimeToLive({ ID: lease.ID })).grantedTTL, '60');
        if (b.name === 'etcd') {
          // etcd 3.4.23 answers anyone (fixed in 3.4.26 and 3.5.9); coord store follows the fix.
          assert.deepEqual(keys(await anon.leaseTimeToLive({ ID: lease.ID, keys: true })), ['/app/k', 'w3'], 'etcd 3.4.23 lists them');
          assert.deepEqual(keys(await alice.leaseTimeToLive({ ID: lease.ID, keys: true })), ['/app/k', 'w3'], 'etcd 3.4.23 lists them');
          assert.ok((await anon.leaseLeases()).leases.some((l) => l.ID === lease.ID));
        } else {
          assert.deepEqual(await callError(anon.leaseTimeToLive({ ID: lease.ID, keys: true })), USER_EMPTY);
          assert.deepEqual(await callError(alice.leaseTimeToLive({ ID: lease.ID, keys: true })), DENIED);
          assert.deepEqual(await callError(anon.leaseLeases()), USER_EMPTY);
          assert.deepEqual(await callError(alice.leaseLeases()), DENIED);
          const forged = t.newClient();
          forged.token = 'abcdefghijklmnop.1';
          assert.deepEqual(await callError(forged.leaseLeases()), BAD_TOKEN);
          // Once every attached key is readable, alice gets her answer.
          await root.deleteRange({ key: 'w3' });
          assert.deepEqual(keys(await alice.leaseTimeToLive({ ID: lease.ID, keys: true })), ['/app/k']);
          assert.ok((await alice.leaseLeases()).leases.some((l) => l.ID === lease.ID));
        }
        await root.leaseRevoke({ ID: lease.ID });
        await root.deleteRange({ key: 'w3' });
      });

      it('admin calls need the root role; a user may read itself and its roles', async () => {
        await relogin();
        assert.deepEqual(await callError(auth('UserList', {}, alice)), DENIED);
        assert.deepEqual(await callError(auth('UserAdd', { name: 'eve', password: 'x' }, alice)), DENIED);
        assert.deepEqual(await callError(auth('AuthDisable', {}, alice)), DENIED);
        assert.deepEqual((await auth<{ roles: string[] }>('UserGet', { name: 'alice' }, alice)).roles, ['app']);
        assert.deepEqual(await callError(auth('UserGet', { name: 'root' }, alice)), DENIED);
        assert.equal((await auth<{ perm: unknown[] }>('RoleGet', { role: 'app' }, alice)).perm.length, 3);
        assert.deepEqual(await callError(auth('RoleGet', { role: 'ops' }, alice)), DENIED);
        assert.deepEqual(await callError(alice.maintenanceCall('Defragment')), err(status.UNKNOWN, 'auth: permission denied'));
        assert.deepEqual(await callError(alice.maintenanceCall('HashKV', { revision: 0 })), err(status.UNKNOWN, 'auth: permission denied'));
        await root.maintenanceCall('Defragment');
        assert.deepEqual((await auth<{ users: string[] }>('UserList', {}, root)).users, ['alice', 'bob', 'root']);
      });

      it('while enabled, root cannot be deleted or lose the root role', async () => {
        await relogin();
        assert.deepEqual(await callError(auth('UserDelete', { name: 'root' }, root)), MGMT);
        assert.deepEqual(await callError(auth('UserRevokeRole', { name: 'root', role: 'root' }, root)), MGMT);
        await auth('RoleAdd', { name: 'root' }, root);
        assert.deepEqual(await callError(auth('RoleDelete', { role: 'root' }, root)), MGMT);
      });

      it('a revoked permission, role or deleted role takes effect on the next call', async () => {
        await relogin();
        await alice.put({ key: '/app/r', value: '1' });
        await auth('RoleRevokePermission', { role: 'app', key: '/app/', range_end: '/app0' }, root);
        assert.deepEqual(await callError(alice.put({ key: '/app/r', value: '2' })), DENIED);
        await auth('RoleGrantPermission', { name: 'app', perm: { permType: READWRITE, key: '/app/', range_end: '/app0' } }, root);
        await alice.put({ key: '/app/r', value: '3' });
        await auth('UserRevokeRole', { name: 'alice', role: 'app' }, root);
        assert.deepEqual(await callError(alice.range({ key: '/app/r' })), DENIED);
        await auth('UserGrantRole', { user: 'alice', role: 'app' }, root);
        assert.equal((await alice.range({ key: '/app/r' })).kvs[0].value.toString(), '3');
        await auth('RoleDelete', { role: 'ops' }, root);
        const bob = await login('bob', 'bobpw');
        assert.deepEqual((await auth<{ roles: string[] }>('UserGet', { name: 'bob' }, bob)).roles, [], 'a deleted role leaves its users');
        assert.deepEqual(await callError(bob.range({ key: '/ro' })), DENIED);
      });

      it('a password change or a deleted user invalidates its tokens', async () => {
        await relogin();
        const before = await login('alice', 'alicepw');
        await auth('UserChangePassword', { name: 'alice', password: 'alicepw2' }, root);
        assert.deepEqual(await callError(before.range({ key: '/ro' })), BAD_TOKEN);
        assert.deepEqual(await callError(auth('Authenticate', { name: 'alice', password: 'alicepw' })), AUTH_FAILED);
        alicePassword = 'alicepw2';
        alice = await login('alice', alicePassword);
        await alice.range({ key: '/ro' });
        await auth('UserAdd', { name: 'carol', password: 'c' }, root);
        const carol = await login('carol', 'c');
        await auth('UserDelete', { name: 'carol' }, root);
        assert.deepEqual(await callError(carol.range({ key: '/ro' })), BAD_TOKEN);
      });

      it('a user added without a password cannot authenticate', async () => {
        await relogin();
        await auth('UserAdd', { name: 'svc', password: '', options: { no_password: true } }, root);
        assert.deepEqual(await callError(auth('Authenticate', { name: 'svc', password: '' })), err(status.UNKNOWN, 'auth: authentication failed, password was given for no password user'));
        await auth('UserDelete', { name: 'svc' }, root);
      });

      it(`a token expires after ${TOKEN_TTL_S} s unused; using it keeps it alive`, async () => {
        const kept = await login('alice', 'alicepw2');
        const idle = await login('alice', 'alicepw2');
        const started = Date.now();
        // Used every 300 ms for 1.75 TTLs: still valid. (etcd sweeps expired tokens once a second.)
        while (Date.now() - started < TOKEN_TTL_S * 1750) {
          await kept.range({ key: '/ro' });
          await new Promise((r) => setTimeout(r, 300));
        }
        assert.deepEqual(await callError(idle.range({ key: '/ro' })), BAD_TOKEN, 'unused for 1.75 TTLs');
        await kept.range({ key: '/ro' });
      });

      it('AuthDisable invalidates every token; calls without one work again', async () => {
        root = await login('root', 'rootpw');
        const a = await login('alice', 'alicepw2');
        await auth('AuthDisable', {}, root);
        assert.deepEqual(await callError(a.range({ key: '/ro' })), BAD_TOKEN, 'an old token is refused even with auth off');
        assert.equal((await t.client.range({ key: '/ro' })).kvs.length, 1);
        await t.client.put({ key: '/ro', value: 'after' });
        assert.deepEqual(await callError(auth('Authenticate', { name: 'root', password: 'rootpw' })), NOT_ENABLED);
        // Users and roles are kept: enabling again needs no setup.
        await auth('AuthEnable');
        const again = await login('alice', 'alicepw2');
        assert.equal((await again.range({ key: '/ro' })).kvs[0].value.toString(), 'after');
        await eventually('root can disable auth again', async () => {
          await auth('AuthDisable', {}, await login('root', 'rootpw'));
          return true;
        });
      });

      it('AuthStatus: an etcd 3.5 call; etcd 3.4 answers Unimplemented', async () => {
        if (b.name === 'etcd') {
          assert.equal((await callError(auth('AuthStatus'))).code, status.UNIMPLEMENTED);
        } else {
          const s = await auth<{ enabled: boolean; authRevision: string }>('AuthStatus');
          assert.equal(s.enabled, false);
          assert.ok(Number(s.authRevision) > 1);
        }
      });
    });
  }
});
