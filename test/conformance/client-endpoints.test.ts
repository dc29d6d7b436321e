// Several endpoints given as IPv6 literals reach the server: grpc-js needs them under its `ipv6:`
// scheme (an `ipv4:` target refuses them). Each endpoint here is a separate [::1] listener that
// forwards to the backend, so the client really dials two IPv6 addresses.
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CoordError, EtcdClient } from '../../src/index.ts';
import { endpointsTarget } from '../../src/client/etcd-client.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';

async function forwarder(host: string, to: string): Promise<{ server: Server; endpoint: string }> {
  const [toHost, toPort] = [to.replace(/:\d+$/, ''), Number(to.replace(/^.*:/, ''))];
  const server = createServer((inbound) => {
    const outbound = createConnection({ host: toHost, port: toPort });
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  return { server, endpoint: `[${host}]:${port}` };
}

describe('endpoint lists', () => {
  it('puts IPv4 lists under ipv4: and IPv6 lists under ipv6:', () => {
    assert.equal(endpointsTarget(['127.0.0.1:1', 'http://127.0.0.2:2']), 'ipv4:127.0.0.1:1,127.0.0.2:2');
    assert.equal(endpointsTarget(['[::1]:1', 'https://[fd00::2]:2/']), 'ipv6:[::1]:1,[fd00::2]:2');
    assert.equal(endpointsTarget(['localhost:1', '127.0.0.1:2']), 'ipv4:127.0.0.1:1,127.0.0.1:2');
    assert.equal(endpointsTarget(['[::1]:1']), '[::1]:1');
  });

  it('refuses a mixed or unbracketed list with an invalid-argument error', () => {
    const invalid = (list: string[], text: RegExp) =>
      assert.throws(() => endpointsTarget(list), (e: unknown) => e instanceof CoordError && e.code === 'invalid-argument' && text.test(e.message));
    invalid(['127.0.0.1:1', '[::1]:2'], /mix IPv4 and IPv6/);
    invalid(['::1:1', '::1:2'], /IPv6 in brackets/);
    invalid(['etcd-1:2379', 'etcd-2:2379'], /must be IP addresses/);
  });
});

for (const backend of backends()) {
  describe(`IPv6 endpoint list on ${backend.name}`, { skip: backend.skip }, () => {
    const f = useBackend(backend);
    const servers: Server[] = [];
    let endpoints: string[] = [];
    before(async () => {
      for (let i = 0; i < 2; i++) {
        const fw = await forwarder('::1', f.endpoint);
        servers.push(fw.server);
        endpoints.push(fw.endpoint);
      }
    });
    after(() => servers.forEach((s) => s.close()));

    it('reads and writes through two [::1] endpoints', async () => {
      const c = new EtcdClient({ endpoints });
      try {
        const key = `/${f.prefix('v6')}k`;
        await c.put(key, 'over ipv6');
        assert.equal((await c.get(key))?.value.toString(), 'over ipv6');
      } finally {
        c.close();
      }
    });
  });
}
