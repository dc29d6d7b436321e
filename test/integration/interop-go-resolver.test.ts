// coord's etcd:/// resolver reads grpc-go's registry (etcd naming/endpoints) when asked with
// `?format=grpc-go`: endpoints published by Go's endpoints.Manager are called by grpc-js through
// p2c_ewma; one whose key goes leaves the channel; a malformed record is skipped with one log line
// naming its key and never removes good instances. Both backends.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startEtcd, requireEtcd, type EtcdProcess } from '../helpers/etcd-process.ts';
import { buildGoProgram, requireGo } from '../helpers/go-program.ts';
import { until } from '../helpers/coord-fixture.ts';
import { answered, GrpcFixture } from './grpc-balancer-fixture.ts';

const skipGo = requireGo();

const suites = [
  { name: 'coord store', skip: undefined as string | undefined, endpoint: async () => undefined as string | undefined, stop: async () => {} },
  (() => {
    let etcd: EtcdProcess | undefined;
    return { name: 'etcd', skip: requireEtcd(), endpoint: async () => (etcd = await startEtcd()).endpoint, stop: async () => etcd?.stop() };
  })(),
];

for (const suite of suites) {
  describe(`etcd:///…?format=grpc-go on ${suite.name}`, { skip: suite.skip ?? skipGo }, () => {
    let f: GrpcFixture;
    let bin: string;
    before(async () => {
      bin = await buildGoProgram('endpoints-tool');
      f = await GrpcFixture.start({ endpoint: await suite.endpoint(), namespace: '/go-resolver/' });
    });
    after(async () => {
      await f.close();
      await suite.stop();
    });
    const go = async (...args: string[]) => (await promisify(execFile)(bin, ['-endpoint', f.endpoint, ...args], { timeout: 30_000 })).stdout;

    it('calls the endpoints Go published, follows a removal, skips a malformed record', async () => {
      const target = `grpcgo-${suite.name.replace(' ', '-')}/echo`;
      const [a, b] = await Promise.all(['a', 'b'].map((id) => f.backend(id)));
      await go('-mode', 'add', '-target', target, '-addr', a.address);
      await go('-mode', 'add', '-target', target, '-addr', b.address, '-metadata', '{"weight":3}');
      await f.coord.etcd.put(`${target}/garbage`, 'not json');
      await f.coord.etcd.put(`${target}/dup`, JSON.stringify({ Op: 0, Addr: a.address, Metadata: null }));
      console.log(`Go endpoints.Manager.List of ${target} (${suite.name}):\n${(await go('-mode', 'list', '-target', target)).trimEnd()}`);
      const client = f.client(`etcd:///${target}?format=grpc-go`, { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ p2c_ewma: {} }] }) });
      const t = await f.tally(client, 40, 4);
      console.log(`grpc-go format, ${suite.name}: ${JSON.stringify([...t.counts])}, errors ${t.errors.length}`);
      assert.deepEqual(t.errors, []);
      assert.deepEqual(answered(t), ['a', 'b']);
      assert.ok(f.logs.some((l) => l.includes(`skipping malformed grpc-go record ${target}/garbage`)), f.logs.join('\n'));
      assert.ok(f.logs.some((l) => l.includes(`record ${target}/`) && l.includes('two instances publish one address')), f.logs.join('\n'));
      await f.coord.etcd.delete(`${target}/dup`);
      await f.coord.etcd.delete(`${target}/${a.address}`);
      await until(async () => JSON.stringify(answered(await f.tally(client, 20, 2))) === '["b"]', 10_000, 'a, deleted, leaves the channel');
    });

    it('an unknown format is an invalid-argument error when the client or discovery is created', () => {
      assert.throws(() => f.client('etcd:///x?format=consul'), /unknown registry format "consul"; known: coord, grpc-go, kratos, go-zero/);
      assert.throws(() => f.coord.discover('x', { format: 'consul' as 'kratos' }), (e: Error & { code?: string }) => e.code === 'invalid-argument');
    });
  });
}
