// grpc-go's etcd registry format (naming/endpoints) read and written by coord, checked against
// etcd's own endpoints.Manager in Go: what Go publishes, coord decodes; what coord encodes is
// byte-identical to what Go writes, and Go's Manager.List reads it back. Both backends.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { EtcdClient } from '../../src/index.ts';
import { decodeGrpcGo, encodeGrpcGo, grpcGoKey } from '../../src/registry/registry-format-grpc-go.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';
import { buildGoProgram, requireGo } from '../helpers/go-program.ts';

const skipGo = requireGo();

describe('grpc-go endpoint records', () => {
  it('refuses records that are not an Add with an address, saying why', () => {
    assert.match(String(decodeGrpcGo('{')), /^not JSON \(/);
    assert.equal(decodeGrpcGo('{"Op":1,"Addr":"a:1"}'), 'Op 1 is not an Add');
    assert.equal(decodeGrpcGo('{"Op":0,"Addr":""}'), 'no Addr');
    assert.equal(decodeGrpcGo('7'), 'not a JSON object');
    assert.deepEqual(decodeGrpcGo('{"Op":0,"Addr":"10.0.0.1:50051","Metadata":{"zone":"a"}}'), { addr: '10.0.0.1:50051', metadata: { zone: 'a' } });
  });
});

for (const backend of backends()) {
  describe(`grpc-go endpoints.Manager and coord on ${backend.name}`, { skip: backend.skip ?? skipGo }, () => {
    const f = useBackend(backend);
    let bin: string;
    let client: EtcdClient;
    before(async () => {
      bin = await buildGoProgram('endpoints-tool');
      client = new EtcdClient({ endpoints: [f.endpoint] });
    });
    after(() => client?.close());
    const go = async (...args: string[]) => (await promisify(execFile)(bin, ['-endpoint', f.endpoint, ...args], { timeout: 30_000 })).stdout;

    it('Go-written records decode, coord-written records are byte-identical and Go lists them', async () => {
      const target = `${f.prefix('endpoints')}svc/echo`;
      await go('-mode', 'add', '-target', target, '-addr', '127.0.0.1:7001');
      await go('-mode', 'add', '-target', target, '-addr', '127.0.0.1:7002', '-metadata', '{"weight":5,"zone":"a"}');
      const fromGo = await client.range(`${target}/`, { prefix: true });
      assert.deepEqual(
        fromGo.kvs.map((kv) => [kv.key, kv.value.toString()]),
        [
          [grpcGoKey(target, '127.0.0.1:7001'), encodeGrpcGo('127.0.0.1:7001')],
          [grpcGoKey(target, '127.0.0.1:7002'), encodeGrpcGo('127.0.0.1:7002', { weight: 5, zone: 'a' })],
        ],
        'coord encodes exactly the bytes Go writes',
      );
      assert.deepEqual(decodeGrpcGo(fromGo.kvs[1].value), { addr: '127.0.0.1:7002', metadata: { weight: 5, zone: 'a' } });
      await client.put(grpcGoKey(target, '127.0.0.1:7003'), encodeGrpcGo('127.0.0.1:7003', { version: '1.2.0' }));
      const listed = await go('-mode', 'list', '-target', target);
      console.log(`Go endpoints.Manager.List:\n${listed}`);
      assert.equal(
        listed,
        [`${target}/127.0.0.1:7001 127.0.0.1:7001 null`, `${target}/127.0.0.1:7002 127.0.0.1:7002 {"weight":5,"zone":"a"}`, `${target}/127.0.0.1:7003 127.0.0.1:7003 {"version":"1.2.0"}`, ''].join('\n'),
      );
    });
  });
}
