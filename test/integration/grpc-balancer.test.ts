// Each balancing policy over real Echo servers registered in coord store, selected per channel
// through the standard service config. Assertions are on where calls went (with tolerant bounds
// where the policy is random), never on how long anything took.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { serviceConfig } from '../../src/grpc/service-config.ts';
import type { BalancerPolicy } from '../../src/grpc/service-config.ts';
import { until } from '../helpers/coord-fixture.ts';
import { answered, GrpcFixture, type Backend } from './grpc-balancer-fixture.ts';

describe('balancing policies', () => {
  let f: GrpcFixture;
  before(async () => {
    f = await GrpcFixture.start({ namespace: '/grpc-balancer/' });
  });
  after(() => f.close());

  /** A service of `ids` (weights optional) and a client using `policy`, once it reaches all of them. */
  async function serviceWith(policy: BalancerPolicy, ids: string[], weights: number[] = []) {
    const svc = f.service();
    const backends: Backend[] = [];
    for (const [i, id] of ids.entries()) {
      const b = await f.backend(id);
      backends.push(b);
      await f.register(svc, b, weights[i] ? { metadata: { weight: weights[i] } } : {});
    }
    const client = f.client(`etcd:///${svc}`, { 'grpc.service_config': serviceConfig({ policy, outlierDetection: false }) });
    await until(async () => answered(await f.tally(client, 40, 4)).length === ids.length, 15_000, `${JSON.stringify(policy)} reaches ${ids}`);
    return { svc, client, backends };
  }

  const share = (counts: Map<string, number>, id: string, n: number) => (counts.get(id) ?? 0) / n;

  it('round_robin (grpc-js) spreads evenly', async () => {
    const { client } = await serviceWith({ round_robin: {} }, ['r1', 'r2', 'r3']);
    const t = await f.tally(client, 300, 1);
    for (const id of ['r1', 'r2', 'r3']) assert.ok(Math.abs((t.counts.get(id) ?? 0) - 100) <= 2, JSON.stringify([...t.counts]));
  });

  it('random reaches every endpoint about equally', async () => {
    const { client } = await serviceWith({ random: {} }, ['x1', 'x2', 'x3']);
    const t = await f.tally(client, 600, 4);
    assert.equal(t.errors.length, 0);
    // Binomial(600, 1/3): sd ≈ 11.5; ±60 is over 5 sd.
    for (const id of ['x1', 'x2', 'x3']) assert.ok(Math.abs((t.counts.get(id) ?? 0) - 200) < 60, JSON.stringify([...t.counts]));
  });

  it('weighted_round_robin follows registry weights, smoothly', async () => {
    const { client } = await serviceWith({ weighted_round_robin: {} }, ['w1', 'w2', 'w5'], [1, 2, 5]);
    const t = await f.tally(client, 800, 1);
    // Smooth WRR is deterministic; a picker rebuilt mid-run (a reconnect) shifts counts by a few.
    assert.ok(Math.abs((t.counts.get('w1') ?? 0) - 100) <= 12, JSON.stringify([...t.counts]));
    assert.ok(Math.abs((t.counts.get('w2') ?? 0) - 200) <= 12, JSON.stringify([...t.counts]));
    assert.ok(Math.abs((t.counts.get('w5') ?? 0) - 500) <= 12, JSON.stringify([...t.counts]));
  });

  it('weighted_round_robin picks up a weight change from the registry', async () => {
    const svc = f.service();
    const regs = [];
    for (const id of ['c1', 'c2']) regs.push(await f.register(svc, await f.backend(id), { metadata: { weight: 1 } }));
    const client = f.client(`etcd:///${svc}`, { 'grpc.service_config': serviceConfig({ policy: { weighted_round_robin: {} } }) });
    await until(async () => answered(await f.tally(client, 20)).length === 2, 15_000, 'both');
    await regs[0].setMetadata({ weight: 3 });
    await until(async () => {
      const t = await f.tally(client, 40);
      return t.counts.get('c1') === 30 && t.counts.get('c2') === 10;
    }, 15_000, 'c1 gets 3 of every 4 calls');
  });

  it('p2c_ewma sends little to a slow endpoint', async () => {
    const { client, backends } = await serviceWith({ p2c_ewma: {} }, ['p1', 'p2', 'slow']);
    backends[2].behaviour.delayMs = 300;
    const n = 400;
    const t = await f.tally(client, n, 8);
    assert.equal(t.errors.length, 0);
    // Round robin would send it a third. p2c learns from the first slow answers (and from calls
    // piling up in flight) and then only probes it.
    assert.ok(share(t.counts, 'slow', n) < 0.1, JSON.stringify([...t.counts]));
    assert.ok(share(t.counts, 'p1', n) > 0.3 && share(t.counts, 'p2', n) > 0.3, JSON.stringify([...t.counts]));
  });

  it('p2c_ewma shares equal endpoints', async () => {
    const { client } = await serviceWith({ p2c_ewma: {} }, ['e1', 'e2', 'e3']);
    const n = 600;
    const t = await f.tally(client, n, 6);
    for (const id of ['e1', 'e2', 'e3']) assert.ok(share(t.counts, id, n) > 0.1, JSON.stringify([...t.counts]));
  });

  it('least_request avoids the endpoint whose calls pile up', async () => {
    const { client, backends } = await serviceWith({ least_request: {} }, ['l1', 'l2', 'busy']);
    backends[2].behaviour.delayMs = 300;
    const n = 400;
    const t = await f.tally(client, n, 8);
    assert.equal(t.errors.length, 0);
    assert.ok(share(t.counts, 'busy', n) < 0.15, JSON.stringify([...t.counts]));
  });

  it('ejects an endpoint that fails every call (outlier detection, here under round_robin)', { timeout: 60_000 }, async () => {
    const svc = f.service();
    const backends = [];
    for (const id of ['o1', 'o2', 'bad']) {
      const b = await f.backend(id);
      backends.push(b);
      await f.register(svc, b);
    }
    backends[2].behaviour.failCode = 14; // UNAVAILABLE
    const client = f.client(`etcd:///${svc}`, {
      'grpc.service_config': serviceConfig({ policy: { round_robin: {} }, outlierDetection: { interval: { seconds: 1, nanos: 0 } } }),
    });
    // round_robin alone fails a third of the calls for ever; ejection brings that to none. Also the
    // regression test for a resolver that answered re-resolution requests with a repeat: an
    // ejection then spun round_robin and the resolver in a microtask loop (this test hung).
    await until(async () => (await f.tally(client, 60, 3)).errors.length === 0, 30_000, 'bad endpoint ejected');
  });

  describe('ring_hash', () => {
    const keys = Array.from({ length: 60 }, (_, i) => `user-${i}`);

    /** Which server each key lands on; asserts every call of a key landed on the same one. */
    async function placement(client: Parameters<GrpcFixture['tally']>[0]): Promise<Map<string, string>> {
      const where = new Map<string, string>();
      for (const key of keys) {
        for (let i = 0; i < 3; i++) {
          const r = await f.call(client, { metadata: { 'x-user-id': key } });
          assert.ok(r.id, r.error?.details);
          assert.equal(where.get(key) ?? r.id, r.id, `${key} moved between calls`);
          where.set(key, r.id);
        }
      }
      return where;
    }

    it('is sticky per key, and moves only the keys of an instance that joins or leaves', async () => {
      const svc = f.service();
      const regs = new Map<string, Awaited<ReturnType<GrpcFixture['register']>>>();
      for (const id of ['h1', 'h2', 'h3']) regs.set(id, await f.register(svc, await f.backend(id)));
      const client = f.client(`etcd:///${svc}`, { 'grpc.service_config': serviceConfig({ policy: { ring_hash: { hashKey: 'x-user-id' } } }) });
      await until(async () => answered(await f.tally(client, 60, 3, { metadata: (i) => ({ 'x-user-id': keys[i % keys.length] }) })).length === 3, 15_000, 'all three');
      const first = await placement(client);
      assert.equal(new Set(first.values()).size, 3, 'keys spread over all instances');

      regs.set('h4', await f.register(svc, await f.backend('h4')));
      await until(async () => (await f.tally(client, 60, 3, { metadata: (i) => ({ 'x-user-id': keys[i] }) })).counts.has('h4'), 15_000, 'h4 joins');
      const second = await placement(client);
      const moved = keys.filter((k) => first.get(k) !== second.get(k));
      assert.ok(moved.every((k) => second.get(k) === 'h4'), `only moves onto the new instance: ${moved.map((k) => `${k}:${first.get(k)}→${second.get(k)}`)}`);
      assert.ok(moved.length > 0 && moved.length <= keys.length / 2, `moved ${moved.length} of ${keys.length} (a quarter expected)`);

      await regs.get('h2')!.deregister();
      await until(async () => !(await f.tally(client, 60, 3, { metadata: (i) => ({ 'x-user-id': keys[i] }) })).counts.has('h2'), 15_000, 'h2 leaves');
      const third = await placement(client);
      for (const k of keys) {
        if (second.get(k) !== 'h2') assert.equal(third.get(k), second.get(k), `${k} was not on h2 and must stay`);
      }
    });

    it('spreads calls without the key over the instances', async () => {
      const svc = f.service();
      for (const id of ['k1', 'k2']) await f.register(svc, await f.backend(id));
      const client = f.client(`etcd:///${svc}`, { 'grpc.service_config': serviceConfig({ policy: { ring_hash: { hashKey: 'x-user-id' } } }) });
      await until(async () => answered(await f.tally(client, 40, 2)).length === 2, 15_000, 'both reached without a key');
    });
  });
});
