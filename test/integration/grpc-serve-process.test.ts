// serve() in a real child process (test/fixtures/echo-service.ts) registered in coord store:
// it registers only once listening, answers health and reflection, survives throwing handlers,
// and on SIGTERM drains — in-flight calls complete, the instance goes draining then disappears,
// and the process exits 0. A second SIGTERM cuts the drain short.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { connect, type Coord } from '../../src/index.ts';
import { startStore, type StoreHandle } from '../../src/store/index.ts';
import { until } from '../helpers/coord-fixture.ts';
import { startEchoService, stopAllEchoServices, type EchoServiceProcess } from '../fixtures/echo-service-process.ts';
import { EchoClient, HealthClient, callWhenListed, recordRegistry, reflect, sleep } from './grpc-serve-helpers.ts';

/** Waits until the service reports (its stats events) `n` application calls in flight: the calls have reached it. */
function inFlightAt(p: EchoServiceProcess, n: number): Promise<unknown> {
  return until(() => p.events.some((e) => e.event === 'stats' && (e.stats as { inFlight: number }).inFlight >= n), 30_000, `${n} calls in flight at the service`);
}

describe('serve() in a child process', () => {
  let store: StoreHandle;
  let coord: Coord;
  const closers: Array<{ close(): void }> = [];
  const ns = '/grpc-serve-process/';

  before(async () => {
    store = await startStore({ listen: '127.0.0.1:0' });
    coord = connect({ endpoints: [store.endpoint], namespace: ns });
  });
  after(async () => {
    await stopAllEchoServices();
    await coord.close();
    await store.close();
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) c.close();
    await stopAllEchoServices();
  });

  it('registers once listening; on SIGTERM in-flight calls complete, it goes draining then away, and exits 0', async () => {
    const trail = recordRegistry(coord, 'echo', 'p1');
    closers.push(trail);
    const discovery = coord.discover('echo');
    closers.push(discovery);
    await discovery.ready;
    // Call the instance the moment it is listed: a registration before listening fails this.
    const firstCall = callWhenListed(discovery, 'p1');

    const p = await startEchoService({ endpoints: [store.endpoint], namespace: ns, name: 'echo', id: 'p1', args: ['--drain-delay-ms', '500', '--grace-ms', '30000', '--stats-every-ms', '50'] });
    assert.equal(await firstCall, true, 'answered as soon as it was listed');
    assert.match(p.endpoint, /^grpc:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(p.address, `127.0.0.1:${p.port}`);

    const health = new HealthClient(p.address);
    closers.push(health);
    assert.equal(await health.check(''), 'SERVING');
    assert.equal(await health.check('coord.test.Echo'), 'SERVING');
    const watch = health.watch('');
    const listed = await reflect(p.address, { list_services: '*' });
    assert.ok(listed.list_services_response?.service.some((s) => s.name === 'coord.test.Echo'));

    const client = new EchoClient(p.address);
    closers.push(client);
    assert.ok((await client.echo({ message: 'warm' })).ok);
    const slow = Array.from({ length: 3 }, (_, i) => client.echo({ message: `slow${i}`, sleep_ms: 1500 }));
    await inFlightAt(p, 3);
    const exit = await p.kill('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, p.stderr());

    const outcomes = await Promise.all(slow);
    assert.ok(outcomes.every((o) => o.ok), JSON.stringify(outcomes.map((o) => (o.ok ? 'ok' : `${grpc.status[o.code]} ${o.details}`))));
    await until(() => trail.states.at(-1) === 'gone', 10_000, 'instance gone from the registry');
    assert.deepEqual(trail.states, ['serving', 'draining', 'gone']);
    assert.deepEqual(watch.statuses, ['SERVING', 'NOT_SERVING']);
    const lifecycle = p.events.filter((e) => e.event !== 'stats');
    assert.deepEqual(lifecycle.map((e) => e.event), ['listening', 'draining', 'stopped']);
    const stats = lifecycle[2].stats as { started: number; inFlight: number; internalErrors: number };
    assert.equal(stats.inFlight, 0);
    assert.ok(stats.started >= 5);
    assert.match(p.stderr(), /SIGTERM received: shutting down gracefully/);
  });

  it('a handler that throws or rejects answers INTERNAL and the process keeps serving', async () => {
    const p = await startEchoService({ name: 'thrower' });
    const client = new EchoClient(p.address);
    closers.push(client);
    for (const message of ['!throw', '!reject']) {
      const r = await client.echo({ message });
      assert.ok(!r.ok && r.code === grpc.status.INTERNAL, `${message}: ${JSON.stringify(r)}`);
    }
    const after = await client.echo({ message: 'still alive' });
    assert.ok(after.ok && after.value.message === 'still alive');
    assert.equal(await Promise.race([p.exited.then(() => 'exited'), sleep(100).then(() => 'running')]), 'running');
    await until(() => (p.stderr().match(/failed, answered INTERNAL/g) ?? []).length === 2, 5000, 'two error lines on stderr');
    assert.match(p.stderr(), /Error: echo fixture: rejected as asked/);
  });

  it("by default serve() exits the process with 0 once a signal's shutdown is done", async () => {
    const p = await startEchoService({ endpoints: [store.endpoint], namespace: ns, name: 'exiter', id: 'e1', args: ['--exit-on-signal', '--drain-delay-ms', '0', '--stats-every-ms', '50'] });
    const client = new EchoClient(p.address);
    closers.push(client);
    const slow = client.echo({ message: 'slow', sleep_ms: 1000 });
    await inFlightAt(p, 1);
    assert.deepEqual(await p.kill('SIGINT'), { code: 0, signal: null }, p.stderr());
    assert.ok((await slow).ok, 'the in-flight call completed first');
    assert.deepEqual(await coord.instances('exiter'), []);
  });

  it('a second SIGTERM cuts the drain short: the stuck call gets UNAVAILABLE and the process exits 0', async () => {
    const p = await startEchoService({ name: 'stuck', args: ['--drain-delay-ms', '0', '--grace-ms', '60000', '--stats-every-ms', '50'] });
    const client = new EchoClient(p.address);
    closers.push(client);
    assert.ok((await client.echo({ message: 'warm' })).ok);
    const stuck = client.echo({ message: 'stuck', sleep_ms: 60_000 });
    await inFlightAt(p, 1);
    process.kill(p.pid, 'SIGTERM');
    await p.waitForEvent('draining');
    await until(() => p.stderr().includes('draining:'), 10_000, 'drain under way');
    process.kill(p.pid, 'SIGTERM');
    assert.deepEqual(await p.exited, { code: 0, signal: null }, p.stderr());
    const outcome = await stuck;
    assert.ok(!outcome.ok && outcome.code === grpc.status.UNAVAILABLE, JSON.stringify(outcome));
    assert.match(p.stderr(), /received again: cancelling calls still in flight/);
  });
});
