// coord store's auth state (users, roles, permissions, the enabled flag) is in its write-ahead
// log and snapshots: it survives a clean restart, a kill -9 and a snapshot + log-segment cleanup.
// Tokens are not persisted (as etcd's simple tokens): after a restart, clients authenticate again.
// `coord store --auth-root-password-file` starts a fresh store with auth on, and its bad inputs
// get one clear line.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { startStore } from '../../src/store/index.ts';
import { callError, RawClient } from '../helpers/raw-client.ts';
import { dirContents, makeTempDir, removeTempDir, runStoreToExit, startStoreProcess, stopAllStoreProcesses } from '../helpers/store-process.ts';

const USER_EMPTY = { code: status.INVALID_ARGUMENT, details: 'etcdserver: user name is empty' };
const BAD_TOKEN = { code: status.UNAUTHENTICATED, details: 'etcdserver: invalid auth token' };

describe('coord store auth across restarts', () => {
  const root = makeTempDir('coord-auth-persist-');
  let n = 0;
  const dataDir = () => join(root, `data-${++n}`);
  const clients: RawClient[] = [];
  after(async () => {
    for (const c of clients) c.close();
    await stopAllStoreProcesses();
    removeTempDir(root);
  });
  const client = (endpoint: string, token?: string) => {
    const c = new RawClient(endpoint);
    c.token = token;
    clients.push(c);
    return c;
  };
  const login = async (endpoint: string, name: string, password: string) => {
    const c = client(endpoint);
    c.token = ((await c.authCall('Authenticate', { name, password })) as { token: string }).token;
    return c;
  };
  const passwordFile = (text: string) => {
    const f = join(root, `pw-${++n}`);
    writeFileSync(f, text);
    return f;
  };

  it('--auth-root-password-file starts with auth on; users, roles and grants survive kill -9; old tokens do not', async () => {
    const dir = dataDir();
    const first = await startStoreProcess(['--data-dir', dir, '--listen', '127.0.0.1:0', '--auth-root-password-file', passwordFile('s3cret\n')]);
    assert.match(first.stderr(), /created user root .*\n.*auth enabled/s);
    assert.deepEqual(await callError(client(first.endpoint).put({ key: '/app/a', value: '1' })), USER_EMPTY);
    const admin = await login(first.endpoint, 'root', 's3cret');
    await admin.authCall('UserAdd', { name: 'app', password: 'apppw' });
    await admin.authCall('RoleAdd', { name: 'app' });
    await admin.authCall('RoleGrantPermission', { name: 'app', perm: { permType: 2, key: '/app/', range_end: '/app0' } });
    await admin.authCall('UserGrantRole', { user: 'app', role: 'app' });
    const app = await login(first.endpoint, 'app', 'apppw');
    await app.put({ key: '/app/a', value: '1' });
    await first.kill('SIGKILL');
    for (const [file, bytes] of dirContents(dir)) {
      for (const secret of ['s3cret', 'apppw']) assert.equal(bytes.includes(secret), false, `${file} holds a password in clear`);
    }
    assert.equal(first.stderr().includes('s3cret'), false, 'the password is never logged');

    // No password file this time: the data dir alone says auth is on.
    const second = await startStoreProcess(['--data-dir', dir, '--listen', '127.0.0.1:0']);
    assert.match(second.stderr(), /recovered revision 2 \(1 keys, 0 leases, auth enabled \(2 users\)\)/);
    assert.deepEqual(await callError(client(second.endpoint, app.token).range({ key: '/app/a' })), BAD_TOKEN, 'tokens die with the process');
    assert.deepEqual(await callError(client(second.endpoint).range({ key: '/app/a' })), USER_EMPTY);
    const app2 = await login(second.endpoint, 'app', 'apppw');
    assert.equal((await app2.range({ key: '/app/a' })).kvs[0].value.toString(), '1');
    assert.deepEqual(await callError(app2.put({ key: '/other', value: 'x' })), { code: status.PERMISSION_DENIED, details: 'etcdserver: permission denied' });
    const admin2 = await login(second.endpoint, 'root', 's3cret');
    assert.deepEqual((await admin2.authCall<{ users: string[] }>('UserList')).users, ['app', 'root']);
    await admin2.authCall('AuthDisable');
    await second.kill('SIGTERM');

    // A later start with the password file again: root exists, so its password stays; auth on again.
    const third = await startStoreProcess(['--data-dir', dir, '--listen', '127.0.0.1:0', '--auth-root-password-file', passwordFile('other\n')]);
    assert.match(third.stderr(), /user root exists; its password is kept/);
    assert.match(third.stderr(), /auth enabled/);
    await login(third.endpoint, 'root', 's3cret');
    assert.deepEqual(await callError(login(third.endpoint, 'root', 'other')), {
      code: status.INVALID_ARGUMENT,
      details: 'etcdserver: authentication failed, invalid user ID or password',
    });
    await third.kill('SIGKILL');
  });

  it('auth state comes back from a snapshot after the log segments before it are removed', async () => {
    const dir = dataDir();
    const lines: string[] = [];
    const opts = { listen: '127.0.0.1:0', dataDir: dir, snapshotBytes: 4096, segmentBytes: 4096, log: (l: string) => lines.push(l) };
    let store = await startStore(opts);
    const c = client(store.endpoint);
    await c.authCall('UserAdd', { name: 'root', password: 'rootpw' });
    await c.authCall('UserGrantRole', { user: 'root', role: 'root' });
    await c.authCall('RoleAdd', { name: 'reader' });
    await c.authCall('RoleGrantPermission', { name: 'reader', perm: { permType: 0, key: 'k', range_end: 'l' } });
    await c.authCall('UserAdd', { name: 'r', password: 'rpw' });
    await c.authCall('UserGrantRole', { user: 'r', role: 'reader' });
    await c.authCall('AuthEnable');
    const admin = await login(store.endpoint, 'root', 'rootpw');
    // Enough writes for several snapshots: every auth record is in a segment the snapshots remove.
    for (let i = 0; i < 60; i++) await admin.put({ key: `k${i}`, value: 'x'.repeat(200) });
    await store.close();
    assert.ok(lines.some((l) => /snapshot at revision/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /older log segments removed/.test(l)), lines.join('\n'));

    store = await startStore(opts);
    try {
      assert.match(lines.at(-1) ?? '', /auth enabled \(2 users\)/);
      const r = await login(store.endpoint, 'r', 'rpw');
      assert.equal((await r.range({ key: 'k', range_end: 'l', count_only: true })).count, '60');
      assert.deepEqual(await callError(r.put({ key: 'k1', value: 'y' })), { code: status.PERMISSION_DENIED, details: 'etcdserver: permission denied' });
    } finally {
      await store.close();
    }
  });

  it('a missing or empty root password file is one line and exit 1', async () => {
    const missing = await runStoreToExit(['--memory', '--listen', '127.0.0.1:0', '--auth-root-password-file', join(root, 'nope')]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `coord: cannot read ${join(root, 'nope')}: ENOENT\n`);
    const empty = passwordFile('\nsecond line\n');
    const blank = await runStoreToExit(['--memory', '--listen', '127.0.0.1:0', '--auth-root-password-file', empty]);
    assert.equal(blank.code, 1);
    assert.equal(blank.stderr, `coord: --auth-root-password-file ${empty}: the first line is empty (it must hold root's password)\n`);
  });
});
