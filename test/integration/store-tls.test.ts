import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { startStore, type StoreHandle } from '../../src/store/index.ts';
import { makePki, TLS_BY_NAME, type TestPki } from '../helpers/certs.ts';
import { RawClient, callError } from '../helpers/raw-client.ts';

const pki: TestPki = makePki();

describe('coord store over TLS', () => {
  let store: StoreHandle;
  before(async () => {
    store = await startStore({ listen: '127.0.0.1:0', tls: { cert: pki.serverCert, key: pki.serverKey } });
  });
  after(() => store.close());

  it('serves clients that trust its CA', async () => {
    const c = new RawClient(store.endpoint, grpc.credentials.createSsl(pki.ca), TLS_BY_NAME);
    try {
      await c.put({ key: 'tls/a', value: '1' });
      const r = await c.range({ key: 'tls/a' });
      assert.equal(r.kvs[0].value.toString(), '1');
    } finally {
      c.close();
    }
  });

  it('is not reachable in plaintext', async () => {
    const c = new RawClient(store.endpoint);
    try {
      const err = await callError(c.range({ key: 'tls/a' }));
      assert.equal(err.code, grpc.status.UNAVAILABLE);
    } finally {
      c.close();
    }
  });
});

describe('coord store with client certificates (mTLS)', () => {
  let store: StoreHandle;
  before(async () => {
    store = await startStore({ listen: '127.0.0.1:0', tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca } });
  });
  after(() => store.close());

  it('accepts a client certificate signed by the configured CA', async () => {
    const c = new RawClient(store.endpoint, grpc.credentials.createSsl(pki.ca, pki.clientKey, pki.clientCert), TLS_BY_NAME);
    try {
      await c.put({ key: 'mtls/a', value: 'ok' });
      assert.equal((await c.range({ key: 'mtls/a' })).count, '1');
    } finally {
      c.close();
    }
  });

  it('rejects a client without a certificate, and one signed by another CA', async () => {
    for (const creds of [grpc.credentials.createSsl(pki.ca), grpc.credentials.createSsl(pki.ca, pki.otherClientKey, pki.otherClientCert)]) {
      const c = new RawClient(store.endpoint, creds, TLS_BY_NAME);
      try {
        const err = await callError(c.range({ key: 'mtls/a' }));
        assert.equal(err.code, grpc.status.UNAVAILABLE);
      } finally {
        c.close();
      }
    }
  });
});
