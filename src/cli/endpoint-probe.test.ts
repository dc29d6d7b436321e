import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { isCoordError } from '../core/errors.ts';
import { parseEndpoints, probeEndpoints } from './endpoint-probe.ts';

describe('parseEndpoints', () => {
  it('takes host:port lists, with an http(s):// prefix, a trailing / and IPv6 in brackets', () => {
    assert.deepEqual(parseEndpoints('127.0.0.1:2379, etcd-1.example:2379,https://etcd-2:2380/,[::1]:2379'), {
      endpoints: [
        { text: '127.0.0.1:2379', host: '127.0.0.1', port: 2379 },
        { text: 'etcd-1.example:2379', host: 'etcd-1.example', port: 2379 },
        { text: 'https://etcd-2:2380/', host: 'etcd-2', port: 2380 },
        { text: '[::1]:2379', host: '::1', port: 2379 },
      ],
    });
  });

  it('names the first malformed endpoint and what is wrong with it', () => {
    const cases: [string, string][] = [
      ['not-a-host:xx', "'not-a-host:xx' is not host:port (the port must be a number from 1 to 65535)"],
      ['h:0', "'h:0' is not host:port (the port must be a number from 1 to 65535)"],
      ['h:65536', "'h:65536' is not host:port (the port must be a number from 1 to 65535)"],
      ['h', "'h' is not host:port"],
      ['::1:2379', "'::1:2379' is not host:port"],
      ['a:1,,b:2', "'a:1,,b:2' has an empty endpoint"],
      ['bad_host!:1', "'bad_host!:1' is not host:port ('bad_host!' is not a host name or IP address)"],
    ];
    for (const [list, error] of cases) assert.deepEqual(parseEndpoints(list), { error }, list);
  });
});

describe('probeEndpoints', () => {
  it('resolves when one endpoint accepts a connection, even if another refuses', async () => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const parsed = parseEndpoints(`127.0.0.1:1,127.0.0.1:${port}`);
      assert.ok('endpoints' in parsed);
      await probeEndpoints(parsed.endpoints, 5000);
    } finally {
      server.close();
    }
  });

  it("rejects with every endpoint and the operating system's cause when none does", async () => {
    const parsed = parseEndpoints('127.0.0.1:1');
    assert.ok('endpoints' in parsed);
    await assert.rejects(probeEndpoints(parsed.endpoints, 5000), (e) => isCoordError(e, 'unavailable') && e.message === 'cannot reach etcd at 127.0.0.1:1 (connection refused)');
  });
});
