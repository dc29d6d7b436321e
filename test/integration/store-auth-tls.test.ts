// etcd's --client-cert-auth in coord store: with TLS and a CA (client certificates required and
// verified), a call without a token acts as the user named by its certificate's common name; a
// token, when sent, takes precedence. Without auth on, the name changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { startStore, type StoreHandle } from '../../src/store/index.ts';
import { makePki, type TestPki } from '../helpers/certs.ts';
import { callError, RawClient } from '../helpers/raw-client.ts';

describe('coord store: a client certificate names the user (TLS with a CA)', () => {
  let pki: TestPki;
  let store: StoreHandle;
  const clients: RawClient[] = [];
  const tlsClient = (token?: string) => {
    const c = new RawClient(store.endpoint.replace('127.0.0.1', 'localhost'), grpc.credentials.createSsl(pki.ca, pki.clientKey, pki.clientCert));
    c.token = token;
    clients.push(c);
    return c;
  };
  before(async () => {
    pki = makePki();
    store = await startStore({ listen: '127.0.0.1:0', tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await store?.close();
  });

  it('without auth the certificate changes nothing; with auth on, its CN ("client") is the user', async () => {
    const c = tlsClient();
    await c.put({ key: '/other', value: 'x' });
    await c.authCall('UserAdd', { name: 'root', password: 'rootpw' });
    await c.authCall('UserGrantRole', { user: 'root', role: 'root' });
    await c.authCall('UserAdd', { name: 'client', password: 'unused' });
    await c.authCall('RoleAdd', { name: 'cn' });
    await c.authCall('RoleGrantPermission', { name: 'cn', perm: { permType: 2, key: '/cn/', range_end: '/cn0' } });
    await c.authCall('UserGrantRole', { user: 'client', role: 'cn' });
    await c.authCall('AuthEnable');

    await c.put({ key: '/cn/a', value: '1' });
    assert.equal((await c.range({ key: '/cn/a' })).kvs[0].value.toString(), '1');
    assert.deepEqual(await callError(c.put({ key: '/other', value: 'y' })), { code: status.PERMISSION_DENIED, details: 'etcdserver: permission denied' });
    assert.deepEqual(await callError(c.authCall('UserList')), { code: status.PERMISSION_DENIED, details: 'etcdserver: permission denied' }, 'client is not root');

    // A token takes precedence over the certificate.
    const token = ((await c.authCall('Authenticate', { name: 'root', password: 'rootpw' })) as { token: string }).token;
    const asRoot = tlsClient(token);
    await asRoot.put({ key: '/other', value: 'z' });
    assert.deepEqual((await asRoot.authCall<{ users: string[] }>('UserList')).users, ['client', 'root']);

    // A CN with no such user may do nothing.
    await asRoot.authCall('UserDelete', { name: 'client' });
    assert.deepEqual(await callError(c.range({ key: '/cn/a' })), { code: status.PERMISSION_DENIED, details: 'etcdserver: permission denied' });
  });
});
