// Client-side health checking: servers that report NOT_SERVING over grpc.health.v1 get no calls
// until they report SERVING again, under every coord policy; servers without the health service
// are used; the check can be turned off or pointed at a named service.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { serviceConfig, type BalancerPolicy } from '../../src/grpc/service-config.ts';
import { until } from '../helpers/coord-fixture.ts';
import { answered, GrpcFixture } from './grpc-balancer-fixture.ts';

describe('client-side health checks', () => {
  let f: GrpcFixture;
  before(async () => {
    f = await GrpcFixture.start({ namespace: '/grpc-health/' });
  });
  after(() => f.close());

  const keyed = (i: number) => ({ 'x-user-id': `u${i}` });

  const policies: BalancerPolicy[] = [{ p2c_ewma: {} }, { least_request: {} }, { weighted_round_robin: {} }, { random: {} }, { ring_hash: { hashKey: 'x-user-id' } }];
  for (const policy of policies) {
    const name = Object.keys(policy)[0];
    it(`${name}: a NOT_SERVING endpoint gets no calls, and gets them again once SERVING`, async () => {
      const svc = f.service();
      const [a, b, c] = [await f.backend('a', { health: 'SERVING' }), await f.backend('b', { health: 'SERVING' }), await f.backend('c', { health: 'SERVING' })];
      for (const s of [a, b, c]) await f.register(svc, s);
      // Outlier detection stays on (the default): health exclusion must work under it too.
      const client = f.client(`etcd:///${svc}`, { 'grpc.service_config': serviceConfig({ policy }) });
      const spread = async () => answered(await f.tally(client, 60, 3, { metadata: keyed }));
      await until(async () => (await spread()).length === 3, 15_000, 'all three serve');

      b.health!.setStatus('', 'NOT_SERVING');
      await until(async () => JSON.stringify(await spread()) === '["a","c"]', 15_000, 'b excluded');
      // Excluded for good, not just once: a larger sample with no call to b.
      const t = await f.tally(client, 200, 4, { metadata: keyed });
      assert.equal(t.counts.get('b'), undefined, JSON.stringify([...t.counts]));
      assert.equal(t.errors.length, 0);

      b.health!.setStatus('', 'SERVING');
      await until(async () => (await spread()).includes('b'), 15_000, 'b back');
    });
  }

  it('fails calls fast when every endpoint is NOT_SERVING', async () => {
    const svc = f.service();
    const a = await f.backend('down', { health: 'NOT_SERVING' });
    await f.register(svc, a);
    const client = f.client(`etcd:///${svc}`);
    await until(async () => (await f.call(client, { deadlineMs: 60_000 })).error?.code === grpc.status.UNAVAILABLE, 15_000, 'UNAVAILABLE, not a hang until the deadline');
    a.health!.setStatus('', 'SERVING');
    await until(async () => (await f.call(client)).id === 'down', 15_000, 'served once SERVING');
  });

  it('uses servers without the health service, and says so once', async () => {
    const svc = f.service();
    await f.register(svc, await f.backend('plain'));
    const client = f.client(`etcd:///${svc}`);
    assert.equal((await f.call(client)).id, 'plain');
    assert.ok(f.logs.some((l) => l.includes('does not implement grpc.health.v1')), f.logs.join('\n'));
  });

  it('checks the configured service name, and can be turned off', async () => {
    const svc = f.service();
    const a = await f.backend('named-a', { health: 'SERVING' });
    const b = await f.backend('named-b', { health: 'SERVING' });
    a.health!.setStatus('orders', 'SERVING');
    b.health!.setStatus('orders', 'NOT_SERVING');
    for (const s of [a, b]) await f.register(svc, s);
    const named = f.client(`etcd:///${svc}`, { 'grpc.service_config': serviceConfig({ policy: { p2c_ewma: { healthCheckServiceName: 'orders' } } }) });
    await until(async () => answered(await f.tally(named, 20)).join() === 'named-a', 15_000, 'only named-a serves "orders"');
    const t = await f.tally(named, 100, 4);
    assert.deepEqual(answered(t), ['named-a']);

    const unchecked = f.client(`etcd:///${svc}`, { 'grpc.service_config': serviceConfig({ policy: { p2c_ewma: { healthCheck: false, healthCheckServiceName: 'orders' } } }) });
    await until(async () => answered(await f.tally(unchecked, 40, 4)).length === 2, 15_000, 'both used without health checks');
  });
});
