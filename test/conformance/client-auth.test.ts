// coord's client with etcd credentials (`auth: { username, password }`) against a server with auth
// on: it authenticates once, renews its token when the server has dropped it (idle expiry, a
// password change, AuthDisable), re-opens a watch stream whose token went stale without losing
// events, sees a revoked role on the next call, and reports wrong credentials in one clear error.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connect, isCoordError, type Coord } from '../../src/index.ts';
import { backends } from '../helpers/backends.ts';
import { eventually, useBackend } from '../helpers/conformance.ts';
import type { RawClient } from '../helpers/raw-client.ts';
import { setUpAuth } from '../helpers/auth-setup.ts';

const TOKEN_TTL_S = 2;

describe('client with etcd credentials', () => {
  for (const b of backends()) {
    describe(b.name, { skip: b.skip }, () => {
      const t = useBackend(b, { authTokenTtlSeconds: TOKEN_TTL_S });
      const coords: Coord[] = [];
      after(async () => {
        for (const c of coords) await c.close();
      });
      /** A raw client with a fresh root token (tokens here live 2 s when unused). */
      const root = async () => {
        const c = t.newClient();
        c.token = ((await c.authCall('Authenticate', { name: 'root', password: 'rootpw' })) as { token: string }).token;
        return c;
      };
      const as = (username: string, password: string) => {
        const c = connect({ endpoints: [t.endpoint], namespace: '/app/', auth: { username, password } });
        coords.push(c);
        return c;
      };
      /**
       * Waits until tokens taken now, and every older unused one, have expired on the server. Each
       * probe token is tried once only (a use would restart its idle time).
       */
      const tokensExpire = async () => {
        const probes: RawClient[] = [];
        for (let i = 0; i < 8; i++) {
          const c = t.newClient();
          c.token = ((await c.authCall('Authenticate', { name: 'app', password: 'apppw' })) as { token: string }).token;
          probes.push(c);
        }
        await new Promise((r) => setTimeout(r, TOKEN_TTL_S * 1000));
        for (const c of probes) {
          const refused = await c.range({ key: '/app/x' }).then(
            () => false,
            (e: { code?: number }) => e.code === 16,
          );
          if (refused) return;
          await new Promise((r) => setTimeout(r, 600));
        }
        throw new Error('probe tokens did not expire');
      };
      it('sets up: root, user app with readwrite on /app/, auth on', async () => {
        await setUpAuth(t.endpoint, { user: 'app', password: 'apppw', prefix: '/app/' });
      });

      it('authenticates on first use and renews an expired token without failing the call (a write too)', async () => {
        const app = as('app', 'apppw');
        await app.etcd.put('/app/x', '1');
        await tokensExpire();
        // The client's token is at least as old and unused: the server refuses it, the client
        // authenticates again and sends the write once more (etcd refused it before applying).
        const { revision } = await app.etcd.put('/app/x', '2');
        assert.equal((await app.etcd.get('/app/x'))?.value.toString(), '2');
        assert.equal((await app.etcd.get('/app/x'))?.modRevision, revision);
      });

      it('re-opens a watch stream whose token expired, without losing an event', async () => {
        const app = as('app', 'apppw');
        const seen: string[] = [];
        const first = app.etcd.watches.watch('/app/w1');
        first.onEvents((b) => seen.push(...b.events.map((e) => `w1=${e.kv.value.toString()}`)));
        // The watch starts at the server's revision when it is created: put only once it is.
        let firstConnected = false;
        first.onState((s) => (firstConnected = s === 'connected'));
        await eventually('the first watch created', async () => (firstConnected ? true : undefined), { timeoutMs: 15_000 });
        await app.etcd.put('/app/w1', 'a');
        await eventually('w1=a', async () => (seen.includes('w1=a') ? true : undefined));
        await tokensExpire();
        // A new watch on the same stream is refused for the stream's stale token; the client
        // re-opens the stream with a fresh token and re-creates both watches.
        const second = app.etcd.watches.watch('/app/w2');
        second.onEvents((b) => seen.push(...b.events.map((e) => `w2=${e.kv.value.toString()}`)));
        let connected = false;
        second.onState((s) => (connected = s === 'connected'));
        await eventually('the second watch created on a re-opened stream', async () => (connected ? true : undefined), { timeoutMs: 15_000 });
        assert.match(app.etcd.watches.lastError?.message ?? '', /invalid auth token/, 'the stream was re-opened for its token');
        await (await root()).put({ key: '/app/w1', value: 'b' });
        await (await root()).put({ key: '/app/w2', value: 'c' });
        await eventually('both watches deliver', async () => (seen.includes('w1=b') && seen.includes('w2=c') ? true : undefined), { timeoutMs: 15_000 }).catch((e: Error) => {
          throw new Error(`${e.message}; seen ${seen.join(' ')}; last watch error: ${app.etcd.watches.lastError?.message}`);
        });
        assert.deepEqual(seen, ['w1=a', 'w1=b', 'w2=c']);
        first.close();
        second.close();
      });

      it('a watch on keys the user may not read ends with permission-denied; its stream-mates keep working', async () => {
        const app = as('app', 'apppw');
        const allowed = app.etcd.watches.watch('/app/ok');
        const values: string[] = [];
        allowed.onEvents((b) => values.push(...b.events.map((e) => e.kv.value.toString())));
        const denied = app.etcd.watches.watch('/other/');
        const errors: string[] = [];
        denied.onError((e) => errors.push(`${e.code}: ${e.message}`));
        await eventually('the refusal', async () => (errors.length ? true : undefined), { timeoutMs: 10_000 });
        assert.deepEqual(errors, ['permission-denied: watch on /other/ refused by etcd: rpc error: code = PermissionDenied desc = etcdserver: permission denied']);
        await app.etcd.put('/app/ok', 'v');
        await eventually('the allowed watch delivers', async () => (values.includes('v') ? true : undefined), { timeoutMs: 10_000 });
        allowed.close();
      });

      it('a revoked role takes effect on the next call; granting it back restores access', async () => {
        const app = as('app', 'apppw');
        await app.etcd.put('/app/r', '1');
        await (await root()).authCall('UserRevokeRole', { name: 'app', role: 'app' });
        const denied = await app.etcd.put('/app/r', '2').then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(isCoordError(denied, 'permission-denied'), String(denied));
        assert.match((denied as Error).message, /etcdserver: permission denied/);
        await (await root()).authCall('UserGrantRole', { user: 'app', role: 'app' });
        await app.etcd.put('/app/r', '3');
      });

      it('a changed password: the old token is refused, and the client reports its credentials as wrong', async () => {
        const app = as('app', 'apppw');
        await app.etcd.put('/app/p', '1');
        await (await root()).authCall('UserChangePassword', { name: 'app', password: 'newpw' });
        const err = await app.etcd.put('/app/p', '2').then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(isCoordError(err, 'permission-denied'), String(err));
        assert.equal((err as Error).message, "etcd authentication as 'app' failed: etcdserver: authentication failed, invalid user ID or password");
        const fixed = as('app', 'newpw');
        await fixed.etcd.put('/app/p', '3');
        await (await root()).authCall('UserChangePassword', { name: 'app', password: 'apppw' });
      });

      it('after AuthDisable the client carries on without a token', async () => {
        const app = as('app', 'apppw');
        await app.etcd.put('/app/d', '1');
        await (await root()).authCall('AuthDisable');
        await app.etcd.put('/app/d', '2');
        assert.equal((await app.etcd.get('/app/d'))?.value.toString(), '2');
      });
    });
  }
});
