// Background loops never give up on a permission error (issue: a permission error during
// re-registration left the instance unregistered forever, with no log line and no event). Real
// etcd with auth on: a service user whose write permission is revoked while its lease is lost keeps
// re-registering with backoff — one log line and one onError event per failure — and is back as
// soon as the permission is granted again; a discovery whose read is refused rejects `ready`,
// reports errors, keeps retrying, and delivers the set once it may read. Runs on real etcd and on
// coord store (which speaks etcd's auth); backend-independent loop tests are in
// src/core/retry-until-closed.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, isCoordError, type Coord } from '../../src/index.ts';
import { backends, type RunningBackend } from '../helpers/backends.ts';
import { Etcdctl, requireEtcdctl } from '../helpers/etcdctl.ts';
import { until } from '../helpers/coord-fixture.ts';

const NS = '/give-ups/';

for (const b of backends()) describe(`background loops under permission errors (${b.name}, auth on)`, { skip: b.skip ?? requireEtcdctl() }, () => {
  let etcd: RunningBackend;
  let root: Etcdctl;
  const coords: Coord[] = [];
  const asRoot = (...args: string[]) => root.ok('--user', 'root:rootpw', ...args);

  before(async () => {
    etcd = await b.start();
    root = new Etcdctl(etcd.endpoint);
    await root.ok('user', 'add', 'root:rootpw');
    await root.ok('user', 'add', 'svc:svcpw');
    await root.ok('role', 'add', 'svc');
    await root.ok('user', 'grant-role', 'svc', 'svc');
    await root.ok('auth', 'enable');
  });
  after(async () => {
    for (const c of coords) await c.close();
    await etcd?.stop();
  });

  it('re-registration refused with permission denied is retried, logged and reported until the permission is back', async () => {
    await asRoot('role', 'grant-permission', 'svc', '--prefix=true', 'readwrite', `${NS}services/`);
    const lines: string[] = [];
    const svc = connect({ endpoints: [etcd.endpoint], namespace: NS, auth: { username: 'svc', password: 'svcpw' }, log: (l) => lines.push(l) });
    const admin = connect({ endpoints: [etcd.endpoint], namespace: NS, auth: { username: 'root', password: 'rootpw' } });
    coords.push(svc, admin);
    const reg = await svc.register({ id: 'a-1', name: 'a', endpoints: ['grpc://127.0.0.1:1'] }, { ttl: 2 });
    const errors: string[] = [];
    reg.onError((f) => errors.push(`${f.during}:${f.error.code}`));
    const lease = (await admin.etcd.get(reg.key))!.lease;

    await asRoot('role', 'revoke-permission', 'svc', '--prefix=true', `${NS}services/`);
    await admin.etcd.leaseRevoke(lease);
    await until(() => errors.filter((e) => e === 'write:permission-denied').length >= 2, 15_000, 'two refused re-registrations');
    assert.equal(await admin.etcd.get(reg.key), undefined, 'the record is gone while the write is refused');
    assert.ok(lines.some((l) => /registry: a\/a-1: writing .* failed \(.*permission denied.*\); attempt \d+, retrying in \d+ ms/.test(l)), lines.join('\n'));

    await asRoot('role', 'grant-permission', 'svc', '--prefix=true', 'readwrite', `${NS}services/`);
    const back = await until(async () => admin.etcd.get(reg.key), 15_000, 're-registered after the grant');
    assert.notEqual(back!.lease, lease);
    await reg.deregister();
  });

  it('a discovery refused with permission denied rejects ready, reports, keeps retrying, and delivers once allowed', async () => {
    const admin = connect({ endpoints: [etcd.endpoint], namespace: NS, auth: { username: 'root', password: 'rootpw' } });
    const reader = connect({ endpoints: [etcd.endpoint], namespace: NS, auth: { username: 'svc', password: 'svcpw' } });
    coords.push(admin, reader);
    await asRoot('role', 'revoke-permission', 'svc', '--prefix=true', `${NS}services/`).catch(() => '');
    await admin.register({ id: 'b-1', name: 'b', endpoints: ['grpc://127.0.0.1:2'] }, { ttl: 5 });
    const d = reader.discover('b');
    const errors: string[] = [];
    d.onError((f) => errors.push(f.error.code));
    await assert.rejects(d.ready, (e: unknown) => isCoordError(e, 'permission-denied'));
    await until(() => errors.length >= 2, 10_000, 'the refused read retried');
    await asRoot('role', 'grant-permission', 'svc', '--prefix=true', 'read', `${NS}services/`);
    await until(() => d.snapshot().instances.map((i) => i.id).join() === 'b-1', 15_000, 'the set delivered after the grant');
    assert.equal(d.snapshot().stale, false);
    d.close();
  });
});
