// The etcd: resolver with real grpc-js servers and a generated-style (dynamically loaded) client:
// registry changes reach the channel, draining instances leave it, filters select a subset, an
// empty service fails fast, malformed records are skipped, and endpoint-named targets share one
// etcd connection that closes with the last channel.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { sharedEtcdConnections } from '../../src/grpc/resolver-etcd.ts';
import { until } from '../helpers/coord-fixture.ts';
import { requireEtcd, startEtcd, type EtcdProcess } from '../helpers/etcd-process.ts';
import { answered, GrpcFixture } from './grpc-balancer-fixture.ts';

/** Calls until every one of `ids` has answered and nothing else has, in one batch of 30. */
async function convergesTo(f: GrpcFixture, client: Parameters<GrpcFixture['tally']>[0], ids: string[], what: string): Promise<void> {
  let last = '';
  await until(
    async () => {
      const t = await f.tally(client, 30, 3);
      last = `${JSON.stringify([...t.counts])} errors ${t.errors.map((e) => e.details).join('; ')}`;
      return t.errors.length === 0 && JSON.stringify(answered(t)) === JSON.stringify([...ids].sort());
    },
    15_000,
    `${what} (last batch: ${last})`,
  );
}

const suites = [
  { name: 'coord store', skip: undefined as string | undefined, endpoint: async () => undefined as string | undefined, stop: async () => {} },
  (() => {
    let etcd: EtcdProcess | undefined;
    return {
      name: 'etcd',
      skip: requireEtcd(),
      endpoint: async () => (etcd = await startEtcd()).endpoint,
      stop: async () => etcd?.stop(),
    };
  })(),
];

for (const suite of suites) {
  describe(`etcd: resolver on ${suite.name}`, { skip: suite.skip }, () => {
    let f: GrpcFixture;
    before(async () => {
      f = await GrpcFixture.start({ endpoint: await suite.endpoint(), namespace: '/grpc-resolver/' });
    });
    after(async () => {
      await f.close();
      await suite.stop();
    });

    it('follows registrations, deregistrations and draining', async () => {
      const svc = f.service();
      const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((id) => f.backend(id)));
      const ra = await f.register(svc, a);
      await f.register(svc, b);
      const client = f.client(`etcd:///${svc}`);
      await convergesTo(f, client, ['a', 'b'], 'a and b answer');
      const rc = await f.register(svc, c);
      await convergesTo(f, client, ['a', 'b', 'c'], 'c joins');
      await ra.setStatus('draining');
      await convergesTo(f, client, ['b', 'c'], 'draining a leaves the set');
      await ra.setStatus('serving');
      await convergesTo(f, client, ['a', 'b', 'c'], 'a serves again');
      await rc.deregister();
      await convergesTo(f, client, ['a', 'b'], 'deregistered c leaves');
    });
  });
}

describe('etcd: resolver behaviour', () => {
  let f: GrpcFixture;
  before(async () => {
    f = await GrpcFixture.start({ namespace: '/grpc-resolver-b/' });
  });
  after(() => f.close());

  it('fails calls with UNAVAILABLE "no instances of <service>" instead of hanging', async () => {
    const svc = f.service('nobody');
    const client = f.client(`etcd:///${svc}`, { 'coord.no_instances_wait_ms': 200 });
    // The deadline is far beyond the wait: a hang would end in DEADLINE_EXCEEDED, not this.
    const r = await f.call(client, { deadlineMs: 60_000 });
    assert.equal(r.error?.code, grpc.status.UNAVAILABLE, `got ${r.error?.code} ${r.error?.details}`);
    assert.match(r.error!.details, new RegExp(`no instances of ${svc}`));
  });

  it('lets a call wait for an instance that registers within the wait', async () => {
    const svc = f.service();
    const b = await f.backend('late');
    const client = f.client(`etcd:///${svc}`, { 'coord.no_instances_wait_ms': 30_000 });
    const pending = f.call(client, { deadlineMs: 60_000 });
    await new Promise((r) => setTimeout(r, 100));
    await f.register(svc, b);
    assert.deepEqual(await pending, { id: 'late' });
  });

  it('fails with "no instances" once the last instance is gone, and recovers when one comes back', async () => {
    const svc = f.service();
    const b = await f.backend('only');
    const reg = await f.register(svc, b);
    const client = f.client(`etcd:///${svc}`, { 'coord.no_instances_wait_ms': 200 });
    assert.deepEqual(await f.call(client), { id: 'only' });
    await reg.deregister();
    await until(async () => (await f.call(client, { deadlineMs: 60_000 })).error?.details?.includes(`no instances of ${svc}`), 10_000, 'no-instances failure');
    await f.register(svc, b);
    await until(async () => (await f.call(client)).id === 'only', 10_000, 'recovery');
  });

  it('selects a subset by version, zone and metadata from the target query', async () => {
    const svc = f.service();
    const specs = [
      { id: 'v1-a', version: '1.4.2', metadata: { zone: 'a', tier: 'gold' } },
      { id: 'v1-b', version: '1.4.7', metadata: { zone: 'b', tier: 'gold' } },
      { id: 'v1-c', version: '1.4.9', metadata: { zone: 'c', tier: 'basic' } },
      { id: 'v2-a', version: '2.0.0', metadata: { zone: 'a', tier: 'gold' } },
    ];
    for (const s of specs) await f.register(svc, await f.backend(s.id), { version: s.version, metadata: s.metadata });
    await convergesTo(f, f.client(`etcd:///${svc}?version=1.4.*`), ['v1-a', 'v1-b', 'v1-c'], 'version prefix');
    await convergesTo(f, f.client(`etcd:///${svc}?zone=a`), ['v1-a', 'v2-a'], 'zone');
    await convergesTo(f, f.client(`etcd:///${svc}?version=1.4.*&meta.tier=gold&zone=b,c`), ['v1-b'], 'all three');
    const none = await f.call(f.client(`etcd:///${svc}?zone=z`, { 'coord.no_instances_wait_ms': 100 }), { deadlineMs: 60_000 });
    assert.match(none.error?.details ?? '', new RegExp(`no instances of ${svc} matching zone=z`));
  });

  it('rejects a target with an unknown parameter when the client is created', () => {
    assert.throws(() => f.client(`etcd:///x?colour=blue`), /unknown parameter "colour"/);
  });

  it('skips malformed records and unusable endpoints with a warning, and keeps serving', async () => {
    const svc = f.service();
    const good = await f.backend('good');
    await f.register(svc, good);
    const client = f.client(`etcd:///${svc}`);
    await convergesTo(f, client, ['good'], 'good instance');
    const ns = f.coord.namespace;
    await f.coord.etcd.put(`${ns}services/${svc}/garbage`, '{not json');
    await f.coord.etcd.put(`${ns}services/${svc}/no-endpoint`, JSON.stringify({ id: 'no-endpoint', name: svc, endpoints: ['grpc://nohost'] }));
    await until(() => f.logs.some((l) => l.includes('garbage')) && f.logs.some((l) => l.includes('no-endpoint')), 10_000, 'warnings');
    await convergesTo(f, client, ['good'], 'still serving');
    await f.coord.etcd.delete(`${ns}services/${svc}/garbage`);
    await f.coord.etcd.delete(`${ns}services/${svc}/no-endpoint`);
  });

  it('gives channels to etcd://<endpoints>/<service> one shared connection, closed with the last channel', async () => {
    const svc = f.service();
    await f.register(svc, await f.backend('shared'));
    const before = sharedEtcdConnections();
    const target = `etcd://${f.endpoint}/${svc}?namespace=${f.coord.namespace}`;
    const c1 = f.client(target);
    const c2 = f.client(target);
    assert.equal((await f.call(c1)).id, 'shared');
    assert.equal((await f.call(c2)).id, 'shared');
    assert.equal(sharedEtcdConnections(), before + 1);
    c1.close();
    assert.equal(sharedEtcdConnections(), before + 1, 'still used by the second channel');
    c2.close();
    assert.equal(sharedEtcdConnections(), before);
  });

  it('keeps coord balancing when the user service config only sets method options', async () => {
    const svc = f.service();
    for (const id of ['m1', 'm2', 'm3']) await f.register(svc, await f.backend(id));
    const config = JSON.stringify({ methodConfig: [{ name: [{ service: 'coord.test.Echo' }], timeout: '5s' }] });
    // grpc-js alone would pick_first here: every call to one backend.
    await convergesTo(f, f.client(`etcd:///${svc}`, { 'grpc.service_config': config }), ['m1', 'm2', 'm3'], 'spread over all three');
  });
});
