// coord's client over TLS to endpoints named by IP address, against real etcd and coord store.
// grpc-js would send the IP as the TLS servername, which Node 26 refuses (and RFC 6066 forbids);
// the client sends the address's reverse-lookup name instead and checks the server's certificate
// against the endpoints' addresses, so a certificate for another address is still refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EtcdClient } from '../../src/client/etcd-client.ts';
import { endpointHost, reverseName } from '../../src/client/tls-names.ts';
import { startStore, type StoreHandle } from '../../src/store/index.ts';
import { makePki } from '../helpers/certs.ts';
import { requireEtcd, startEtcd, type EtcdProcess } from '../helpers/etcd-process.ts';

const pki = makePki();
const otherAddressPki = makePki('IP:127.0.0.9,DNS:localhost');

describe('reverse names of endpoint addresses', () => {
  it('names IPv4 and IPv6 addresses the way reverse DNS does', () => {
    assert.equal(reverseName('127.0.0.1'), '1.0.0.127.in-addr.arpa');
    assert.equal(reverseName('::1'), `1.${'0.'.repeat(31)}ip6.arpa`);
    assert.equal(reverseName('2001:db8::567:89ab'), 'b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
  });
  it('takes the host out of every endpoint form', () => {
    assert.equal(endpointHost('https://127.0.0.1:2379'), '127.0.0.1');
    assert.equal(endpointHost('[::1]:2379'), '::1');
    assert.equal(endpointHost('etcd-0.etcd:2379'), 'etcd-0.etcd');
  });
});

const skip = requireEtcd();
const backends: Array<{ name: string; start: (tls: { cert: Buffer; key: Buffer; ca: Buffer }) => Promise<{ endpoint: string; stop(): Promise<void> }>; skip?: string }> = [
  { name: 'etcd', skip, start: async (tls) => { const e: EtcdProcess = await startEtcd({ tls }); return { endpoint: e.endpoint, stop: () => e.stop() }; } },
  { name: 'coord store', start: async (tls) => { const s: StoreHandle = await startStore({ listen: '127.0.0.1:0', tls: { cert: tls.cert, key: tls.key } }); return { endpoint: s.endpoint, stop: () => s.close() }; } },
];

for (const backend of backends) {
  describe(`coord client over TLS to an IP endpoint (${backend.name})`, { skip: backend.skip }, () => {
    let server: { endpoint: string; stop(): Promise<void> };
    let wrong: { endpoint: string; stop(): Promise<void> };
    before(async () => {
      server = await backend.start({ cert: pki.serverCert, key: pki.serverKey, ca: pki.ca });
      wrong = await backend.start({ cert: otherAddressPki.serverCert, key: otherAddressPki.serverKey, ca: otherAddressPki.ca });
    });
    after(async () => {
      await server?.stop();
      await wrong?.stop();
    });

    it('reads and writes through https://127.0.0.1:<port>', async () => {
      const c = new EtcdClient({ endpoints: `https://${server.endpoint}`, tls: { ca: pki.ca } });
      try {
        await c.put('tls/ip', 'yes');
        assert.equal((await c.get('tls/ip'))?.value.toString(), 'yes');
      } finally {
        c.close();
      }
    });

    it('accepts a certificate that names any of the listed endpoints (the first, 127.0.0.2, is down and not in the certificate)', async () => {
      const c = new EtcdClient({ endpoints: ['https://127.0.0.2:1', `https://${server.endpoint}`], tls: { ca: pki.ca } });
      try {
        await c.put('tls/two', 'yes');
        assert.equal((await c.get('tls/two'))?.value.toString(), 'yes');
      } finally {
        c.close();
      }
    });

    it("refuses a server whose certificate names another address, and says why", async () => {
      const c = new EtcdClient({ endpoints: `https://${wrong.endpoint}`, tls: { ca: otherAddressPki.ca }, requestTimeoutMs: 15_000 });
      try {
        await assert.rejects(c.get('tls/x'), (e: Error) => {
          assert.match(e.message, /IP: 127\.0\.0\.1 is not in the cert's list: 127\.0\.0\.9/);
          return true;
        });
      } finally {
        c.close();
      }
    });
  });
}
