// coord's own operations as spans (and the metrics derived from them), against an in-process
// coord store: locks, elections, config publish/get/reload, registry and lease events.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { z } from 'zod';
import { connect, type Coord } from '../../src/index.ts';
import { createObservability, type Observability } from '../../src/observability/index.ts';
import { startStore, type StoreHandle } from '../../src/store/index.ts';
import { until } from '../helpers/coord-fixture.ts';
import { sample } from './observability-fixture.ts';

describe('observability: spans and metrics of coord primitives', () => {
  let store: StoreHandle;
  let coord: Coord;
  let obs: Observability;
  const exporter = new InMemorySpanExporter();
  const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
  const metrics = async () => (await obs.scrape()).body;

  before(async () => {
    obs = createObservability({ serviceName: 'coord-spans', spanProcessors: [new SimpleSpanProcessor(exporter)], processMetrics: false });
    store = await startStore({ listen: '127.0.0.1:0' });
    coord = connect({ endpoints: store.endpoint, namespace: '/obs-spans/' });
  });
  after(async () => {
    await coord?.close();
    await store?.close();
    await obs?.shutdown();
  });
  beforeEach(() => exporter.reset());

  it('lock: acquire with name, fencing token and wait; release with time held; a busy tryLock', async () => {
    const held = await coord.lock('inventory/sku-42');
    const busy = await coord.tryLock('inventory/sku-42');
    assert.equal(busy, undefined);
    await held.release();

    const acquires = spans('coord.lock.acquire');
    assert.equal(acquires.length, 2);
    const [won, refused] = acquires;
    assert.equal(won.attributes['coord.lock.name'], 'inventory/sku-42');
    assert.equal(won.attributes['coord.lock.fencing_token'], held.fencingToken);
    assert.equal(won.attributes['coord.lock.acquired'], true);
    assert.equal(typeof won.attributes['coord.lock.wait_ms'], 'number');
    assert.equal(refused.attributes['coord.lock.try'], true);
    assert.equal(refused.attributes['coord.lock.acquired'], false);
    const [release] = spans('coord.lock.release');
    assert.equal(release.attributes['coord.lock.fencing_token'], held.fencingToken);
    assert.equal(typeof release.attributes['coord.lock.held_ms'], 'number');

    const text = await metrics();
    assert.equal(sample(text, 'coord_lock_wait_seconds_count', { outcome: 'acquired' }), 1);
    assert.equal(sample(text, 'coord_lock_wait_seconds_count', { outcome: 'busy' }), 1);
    assert.equal(sample(text, 'coord_lock_held_seconds_count', {}), 1);
  });

  it('lock: a wait given up is an error span, counted as outcome=error', async () => {
    const held = await coord.lock('jobs');
    await assert.rejects(coord.lock('jobs', { signal: AbortSignal.timeout(100) }), /aborted|lock jobs/);
    await held.release();
    const failed = spans('coord.lock.acquire').find((s) => s.status.code === SpanStatusCode.ERROR);
    assert.ok(failed, 'the abandoned wait is an error span');
    assert.equal(sample(await metrics(), 'coord_lock_wait_seconds_count', { outcome: 'error' }), 1);
  });

  it('election: campaign with fencing token, resign', async () => {
    const leadership = await coord.campaign('order-expiry', 'orders-1');
    await leadership.resign();
    const [campaign] = spans('coord.election.campaign');
    assert.equal(campaign.attributes['coord.election.name'], 'order-expiry');
    assert.equal(campaign.attributes['coord.election.fencing_token'], leadership.fencingToken);
    const [resign] = spans('coord.election.resign');
    assert.equal(resign.attributes['coord.election.fencing_token'], leadership.fencingToken);
    const text = await metrics();
    assert.equal(sample(text, 'coord_election_events_total', { election: 'order-expiry', event: 'elected' }), 1);
    assert.equal(sample(text, 'coord_election_events_total', { election: 'order-expiry', event: 'resigned' }), 1);
  });

  it('config: publish and get with namespace, key and version; a subscriber update (applied or rejected by its schema) is a reload', async () => {
    const limits = coord.config.typed('shop', 'limits', z.object({ maxItems: z.number().int() }));
    const seen: number[] = [];
    const watch = limits.subscribe((v) => v && seen.push(v.value.maxItems));
    try {
      await limits.publish({ maxItems: 20 }, { author: 'ops' });
      await until(() => seen.includes(20), 10_000, 'the subscriber to see v1');
      const got = await coord.config.get('shop', 'limits');
      assert.equal(got?.version, 1);
      // Bypass the schema on purpose: the subscriber must refuse it and keep 20.
      await coord.config.publish('shop', 'limits', { maxItems: 'many' });
      await until(() => spans('coord.config.reload').some((s) => s.attributes['coord.config.applied'] === false), 10_000, 'the rejected reload');
    } finally {
      watch.close();
    }
    const publishes = spans('coord.config.publish');
    assert.deepEqual(publishes.map((s) => [s.attributes['coord.config.namespace'], s.attributes['coord.config.key'], s.attributes['coord.config.version']]), [
      ['shop', 'limits', 1],
      ['shop', 'limits', 2],
    ]);
    const [get] = spans('coord.config.get');
    assert.equal(get.attributes['coord.config.version'], 1);
    const reloads = spans('coord.config.reload');
    const applied = reloads.find((s) => s.attributes['coord.config.version'] === 1 && s.attributes['coord.config.applied'] === true);
    assert.ok(applied, 'the delivery of v1 is an applied reload');
    assert.equal(applied.parentSpanContext, undefined, 'a reload is a trace of its own, not part of the publish that caused it');
    const rejected = reloads.find((s) => s.attributes['coord.config.applied'] === false)!;
    assert.equal(rejected.status.code, SpanStatusCode.ERROR);
    assert.match(rejected.status.message ?? '', /maxItems/);

    const text = await metrics();
    assert.equal(sample(text, 'coord_config_publishes_total', { namespace: 'shop', key: 'limits', result: 'ok' }), 2);
    assert.equal(sample(text, 'coord_config_reloads_total', { namespace: 'shop', key: 'limits', result: 'rejected' }), 1);
    assert.ok((sample(text, 'coord_config_reloads_total', { namespace: 'shop', key: 'limits', result: 'applied' }) ?? 0) >= 1);
  });

  it('registry and leases: register; a revoked lease is lost, recovered, and the instance re-registered; deregister', async () => {
    const reg = await coord.register({ id: 'orders-1', name: 'orders', endpoints: ['grpc://127.0.0.1:1'] }, { ttl: 3 });
    const [register] = spans('coord.registry.register');
    assert.equal(register.attributes['coord.service.name'], 'orders');
    assert.equal(register.attributes['coord.service.instance_id'], 'orders-1');

    const lease = (await coord.etcd.get(reg.key))!.lease;
    await coord.etcd.leaseRevoke(lease);
    await until(() => spans('coord.registry.reregister').length === 1, 15_000, 'the re-registration');
    const [lost] = spans('coord.lease.lost');
    assert.equal(BigInt(`0x${lost.attributes['coord.lease.id']}`), BigInt(lease));
    assert.equal(lost.status.code, SpanStatusCode.ERROR);
    const [recovered] = spans('coord.lease.recovered');
    const [reregister] = spans('coord.registry.reregister');
    assert.equal(reregister.parentSpanContext?.spanId, recovered.spanContext().spanId, 'the re-registration runs inside the recovery');
    assert.equal(spans('coord.registry.lost').length, 1);

    await reg.deregister();
    assert.equal(spans('coord.registry.deregister').length, 1);
    const text = await metrics();
    for (const event of ['registered', 'lost', 'reregistered', 'deregistered']) {
      assert.equal(sample(text, 'coord_registry_events_total', { service: 'orders', event }), 1, event);
    }
    assert.equal(sample(text, 'coord_lease_events_total', { event: 'lost' }), 1);
    assert.equal(sample(text, 'coord_lease_events_total', { event: 'recovered' }), 1);
  });
});
