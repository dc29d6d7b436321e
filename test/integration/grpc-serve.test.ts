// serve() in this process against an in-process coord store: health, reflection, handler errors,
// expired deadlines, rate limits, user interceptors, call context, and graceful shutdown.
// Registration against both backends (real etcd too) is in grpc-serve-registry.test.ts; the same
// behaviours through a real child process are in grpc-serve-process.test.ts.
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { createServer } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { connect, isCoordError, type Coord } from '../../src/index.ts';
import { currentCallContext } from '../../src/grpc/call-context.ts';
import { serve } from '../../src/grpc/serve.ts';
import type { ServeOptions } from '../../src/grpc/serve-options.ts';
import type { CoordServer } from '../../src/grpc/server-handle.ts';
import type { RejectEvent } from '../../src/grpc/server-stats.ts';
import { startStore, type StoreHandle } from '../../src/store/index.ts';
import { until } from '../helpers/coord-fixture.ts';
import { echoHandlers, echoService, type EchoReply, type EchoRequest } from '../helpers/echo.ts';
import { EchoClient, HealthClient, callWhenListed, rawEchoCall, recordRegistry, reflect, sleep } from './grpc-serve-helpers.ts';

const ECHO = echoService().service;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('serve()', () => {
  let store: StoreHandle;
  let coord: Coord;
  const servers: CoordServer[] = [];
  const closers: Array<{ close(): void }> = [];
  let n = 0;

  before(async () => {
    store = await startStore({ listen: '127.0.0.1:0' });
    coord = connect({ endpoints: [store.endpoint], namespace: '/grpc-serve/' });
  });
  after(async () => {
    await coord.close();
    await store.close();
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) c.close();
    await Promise.all(servers.splice(0).map((s) => s.close({ drainDelayMs: 0, graceMs: 0 })));
  });

  /** serve() with test defaults: no signals, quick shutdown, logs collected. */
  async function start(options: Partial<ServeOptions> = {}): Promise<{ server: CoordServer; logs: string[]; client: EchoClient }> {
    const logs: string[] = [];
    const server = await serve({
      name: `svc${++n}`,
      services: [[ECHO, echoHandlers(`s${n}`)]],
      signals: false,
      drainDelayMs: 0,
      log: (l) => logs.push(l),
      ...options,
    });
    servers.push(server);
    const client = new EchoClient(server.address);
    closers.push(client);
    return { server, logs, client };
  }

  it('registers the instance once it listens, with the real port, version and metadata', async () => {
    const name = 'orders';
    const discovery = coord.discover(name);
    closers.push(discovery);
    await discovery.ready;
    // The moment the instance shows up, call it: a registration before listening would fail this call.
    const firstCall = callWhenListed(discovery, 'o1');
    const { server } = await start({ coord, name, id: 'o1', version: '1.2.0', metadata: { zone: 'a', weight: 5 } });
    assert.ok(server.port > 0);
    assert.equal(server.address, `127.0.0.1:${server.port}`);
    assert.equal(server.endpoint, `grpc://127.0.0.1:${server.port}`);
    assert.equal(await firstCall, true, 'the first call after registration is answered');
    const [listed] = (await coord.instances(name)).filter((i) => i.id === 'o1');
    assert.deepEqual(listed, { id: 'o1', name, version: '1.2.0', endpoints: [server.endpoint], metadata: { zone: 'a', weight: 5 }, status: 'serving' });
    assert.equal(server.registration?.key, '/grpc-serve/services/orders/o1');
  });

  it('waits for an unreachable registry until its signal aborts, then rejects and stops listening', async () => {
    const port = await freePort();
    const unreachable = connect({ endpoints: [`127.0.0.1:${await freePort()}`], namespace: '/grpc-serve/' });
    try {
      const started = serve({ coord: unreachable, name: 'lonely', port, services: [[ECHO, echoHandlers('x')]], signals: false, log: () => {}, signal: AbortSignal.timeout(500) });
      await assert.rejects(started, (e) => isCoordError(e, 'aborted'));
      const c = new EchoClient(`127.0.0.1:${port}`);
      closers.push(c);
      const r = await c.echo({ message: 'anyone?' }, { deadline: Date.now() + 5000 });
      assert.ok(!r.ok && r.code === grpc.status.UNAVAILABLE, 'nothing listens after a failed start');
    } finally {
      await unreachable.close();
    }
  });

  it('serves grpc.health.v1 for the server and each service; NOT_SERVING once draining', async () => {
    const { server } = await start({ drainDelayMs: 300 });
    const health = new HealthClient(server.address);
    closers.push(health);
    assert.equal(await health.check(''), 'SERVING');
    assert.equal(await health.check('coord.test.Echo'), 'SERVING');
    assert.equal(await health.check('no.Such'), 'error NOT_FOUND');
    server.setHealth('NOT_SERVING', 'coord.test.Echo');
    assert.equal(await health.check('coord.test.Echo'), 'NOT_SERVING');
    server.setHealth('SERVING', 'coord.test.Echo');

    const watch = health.watch('');
    await until(() => watch.statuses.length > 0, 10_000, 'first Watch answer');
    await server.close();
    assert.deepEqual(watch.statuses, ['SERVING', 'NOT_SERVING']);
    assert.equal(await watch.ended, 'UNAVAILABLE', 'the Watch stream is ended with a status, not cut');
    server.setHealth('SERVING');
  });

  it('serves reflection listing the served services, with their descriptors', async () => {
    const { server } = await start();
    const list = await reflect(server.address, { list_services: '*' });
    const names = list.list_services_response?.service.map((s) => s.name).sort();
    assert.deepEqual(names, ['coord.test.Echo', 'grpc.health.v1.Health']);
    const file = await reflect(server.address, { file_containing_symbol: 'coord.test.EchoRequest' });
    const descriptors = file.file_descriptor_response?.file_descriptor_proto ?? [];
    assert.ok(descriptors.some((d) => Buffer.from(d).includes('EchoRequest')), 'descriptor of echo.proto returned');

    const { server: bare } = await start({ reflection: false, health: false });
    await assert.rejects(reflect(bare.address, { list_services: '*' }), (e: grpc.ServiceError) => e.code === grpc.status.UNIMPLEMENTED);
    assert.equal(await new HealthClient(bare.address).check(''), 'error UNIMPLEMENTED');
  });

  it('answers INTERNAL for handlers that throw or reject, logs one line each, and keeps serving', async () => {
    const handlers = {
      Echo(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
        const m = call.request.message;
        if (m === 'throw') throw new Error('boom');
        if (m === 'reject') return Promise.reject(new TypeError('async boom'));
        if (m === 'late') {
          cb(null, { message: 'answered first', server_id: 'x' });
          return Promise.reject(new Error('after the answer'));
        }
        cb(null, { message: m ?? '', server_id: 'x' });
        return undefined;
      },
      async EchoStream(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
        call.write({ message: 'one', server_id: 'x' });
        await sleep(10);
        throw new Error('stream boom');
      },
    };
    const { server, logs, client } = await start({ services: [[ECHO, handlers]] });
    const thrown = await client.echo({ message: 'throw' });
    const rejected = await client.echo({ message: 'reject' });
    assert.deepEqual([thrown.ok || thrown.code, rejected.ok || rejected.code], [grpc.status.INTERNAL, grpc.status.INTERNAL]);
    assert.ok(!thrown.ok && thrown.details === 'internal error', 'the error text is not leaked to the caller');
    const late = await client.echo({ message: 'late' });
    assert.ok(late.ok && late.value.message === 'answered first');
    const stream = await client.stream({ message: 's' });
    assert.ok(!stream.ok && stream.code === grpc.status.INTERNAL);
    const fine = await client.echo({ message: 'still here' });
    assert.ok(fine.ok && fine.value.message === 'still here');

    await until(() => logs.filter((l) => l.includes('failed, answered INTERNAL')).length === 4, 5000, 'four error lines');
    const errors = logs.filter((l) => l.includes('failed, answered INTERNAL'));
    assert.ok(errors.every((l) => !l.includes('\n')), 'one line each');
    assert.ok(errors.some((l) => l.includes('/coord.test.Echo/Echo') && l.includes('TypeError: async boom')));
    assert.ok(errors.some((l) => l.includes('/coord.test.Echo/EchoStream') && l.includes('stream boom')));
    assert.equal(server.stats().internalErrors, 4);
  });

  it('refuses a call whose deadline passed before its handler could start, without running it', async () => {
    const handled: string[] = [];
    const burnFirst = {
      Echo(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
        const m = call.request.message ?? '';
        handled.push(m);
        if (m === 'burn') {
          const end = performance.now() + 300;
          while (performance.now() < end);
        }
        cb(null, { message: m, server_id: 'x' });
      },
      EchoStream(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
        call.end();
      },
    };
    const { server } = await start({ services: [[ECHO, burnFirst]], shedding: false });
    const rejections: RejectEvent[] = [];
    server.onRejected((e) => rejections.push(e));
    const session = http2.connect(`http://${server.address}`);
    closers.push(session);
    // Two calls in one write, so the server reads them together: 'late' (100 ms to live) waits
    // behind 300 ms of 'burn' and reaches its handler dead. Plain grpc-js runs it and answers OK.
    const [burn, late] = await Promise.all([rawEchoCall(session, 'burn'), rawEchoCall(session, 'late', '100m')]);
    assert.equal(burn, grpc.status.OK);
    assert.equal(late, grpc.status.DEADLINE_EXCEEDED);
    // A zero timeout is dead on arrival (plain grpc-js answers this one OK too).
    assert.equal(await rawEchoCall(session, 'zero', '0m'), grpc.status.DEADLINE_EXCEEDED);
    assert.equal(await rawEchoCall(session, 'alive', '10S'), grpc.status.OK);
    assert.deepEqual(handled, ['burn', 'alive']);
    assert.equal(server.stats().deadlineExceeded, 2);
    assert.deepEqual(rejections, [
      { method: '/coord.test.Echo/Echo', reason: 'deadline' },
      { method: '/coord.test.Echo/Echo', reason: 'deadline' },
    ]);
  });

  it('rate-limits per method with a token bucket, with a retry pushback; refused calls reach no user interceptor', async () => {
    let seenByInterceptor = 0;
    const counting: grpc.ServerInterceptor = (_method, call) =>
      new grpc.ServerInterceptingCall(call, {
        start: (next) => next({ onReceiveMetadata: (md, nextMd) => (seenByInterceptor++, nextMd(md)) }),
      });
    const { server, client } = await start({ rateLimits: { '/coord.test.Echo/Echo': { rate: 1, burst: 3 } }, interceptors: [counting], shedding: false });
    const rejections: RejectEvent[] = [];
    server.onRejected((e) => rejections.push(e));
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => client.echo({ message: `m${i}` })));
    const elapsedS = (performance.now() - t0) / 1000;
    const ok = results.filter((r) => r.ok).length;
    const limited = results.filter((r) => !r.ok && r.code === grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(ok + limited.length, 8, 'every call either answered or rate-limited');
    // The burst of 3, plus at most one token per second the calls took.
    assert.ok(ok >= 3 && ok <= 3 + Math.ceil(elapsedS), `${ok} answered in ${elapsedS.toFixed(2)} s`);
    for (const r of limited) {
      assert.ok(!r.ok && /rate limit exceeded for \/coord.test.Echo\/Echo/.test(r.details));
      assert.ok(Number(r.trailers.get('grpc-retry-pushback-ms')[0]) > 0, 'pushback tells when a token is due');
    }
    assert.equal(server.stats().rateLimited, limited.length);
    assert.equal(rejections.length, limited.length);
    assert.ok(rejections.every((e) => e.reason === 'rate-limit' && e.method === '/coord.test.Echo/Echo'));
    assert.equal(seenByInterceptor, ok);
    // Another method has no limit.
    const streams = await Promise.all(Array.from({ length: 8 }, () => client.stream({ message: 's', count: 1 })));
    assert.ok(streams.every((r) => r.ok));
  });

  it('a wildcard rate limit gives every method its own bucket; bad keys and limits are refused at start', async () => {
    const { client } = await start({ rateLimits: { 'coord.test.Echo': { rate: 0.001, burst: 1 } }, shedding: false });
    assert.ok((await client.echo({ message: 'a' })).ok);
    assert.ok((await client.stream({ message: 'b' })).ok, 'EchoStream has a bucket of its own');
    const second = await client.echo({ message: 'c' });
    assert.ok(!second.ok && second.code === grpc.status.RESOURCE_EXHAUSTED);
    const { server: everything } = await start({ rateLimits: { '*': { rate: 0.001, burst: 1 } }, shedding: false });
    const health = new HealthClient(everything.address);
    closers.push(health);
    assert.deepEqual([await health.check(), await health.check(), await health.check()], ['SERVING', 'SERVING', 'SERVING'], "'*' leaves health alone");
    const invalid: Array<ServeOptions['rateLimits']> = [{ '/a/b/c': { rate: 1 } }, { '*': { rate: 0 } }];
    for (const rateLimits of invalid) {
      await assert.rejects(start({ rateLimits }), (e) => isCoordError(e, 'invalid-argument'));
    }
  });

  it('runs handlers inside the call context, so outgoing calls can inherit the deadline', async () => {
    let seen: { method?: string; deadline?: number } = {};
    const impl = {
      Echo(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
        const ctx = currentCallContext();
        seen = { method: ctx?.method, deadline: ctx?.deadline };
        cb(null, { message: call.request.message ?? '', server_id: 'x' });
      },
      EchoStream(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
        call.end();
      },
    };
    const { client } = await start({ services: [[ECHO, impl]] });
    const deadline = Date.now() + 30_000;
    assert.ok((await client.echo({ message: 'x' }, { deadline })).ok);
    assert.equal(seen.method, '/coord.test.Echo/Echo');
    assert.ok(seen.deadline !== undefined && Math.abs(seen.deadline - deadline) < 5000, `deadline seen: ${seen.deadline}, sent: ${deadline}`);
  });

  it('shuts down gracefully: draining first, in-flight calls finish, then deregistered and stopped', async () => {
    const { server, client, logs } = await start({ coord, name: 'graceful', id: 'g1', drainDelayMs: 400, graceMs: 30_000 });
    const trail = recordRegistry(coord, 'graceful', 'g1');
    closers.push(trail);
    await until(() => trail.states.length > 0, 10_000, 'registry recorder');
    const slow = Array.from({ length: 3 }, (_, i) => client.echo({ message: `slow${i}`, sleep_ms: 1500 }));
    await until(() => server.stats().inFlight === 3, 10_000, 'three calls in flight');
    const closing = server.close();
    assert.equal(server.draining.aborted, true);
    // Still accepted during the drain delay: a client that has not heard yet loses nothing.
    const during = await client.echo({ message: 'during the drain delay' });
    assert.ok(during.ok, 'a call during the drain delay is served');
    await closing;
    const outcomes = await Promise.all(slow);
    assert.ok(
      outcomes.every((o) => o.ok),
      JSON.stringify(outcomes.map((o) => (o.ok ? 'ok' : grpc.status[o.code]))),
    );
    await until(() => trail.states.at(-1) === 'gone', 10_000, 'instance gone');
    assert.deepEqual(trail.states, ['serving', 'draining', 'gone']);
    const after = new EchoClient(server.address);
    closers.push(after);
    const refused = await after.echo({ message: 'too late' }, { deadline: Date.now() + 5000 });
    assert.ok(!refused.ok && refused.code === grpc.status.UNAVAILABLE, 'the port is closed');
    assert.ok(logs.some((l) => l.includes('draining:')) && logs.at(-1)?.endsWith('stopped'));
    assert.equal(await Promise.race([server.closed.then(() => 'closed'), sleep(1).then(() => 'pending')]), 'closed');
  });

  it('ends calls still running after the grace period with UNAVAILABLE, and their handlers see the cancel', async () => {
    let handlerSawCancel = false;
    const never = {
      Echo(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>) {
        call.on('cancelled', () => (handlerSawCancel = true));
      },
      EchoStream(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
        call.end();
      },
    };
    const { server, client, logs } = await start({ services: [[ECHO, never]], graceMs: 300 });
    const stuck = client.echo({ message: 'stuck' });
    await until(() => server.stats().inFlight === 1, 10_000, 'call in flight');
    await server.close();
    const outcome = await stuck;
    assert.ok(!outcome.ok && outcome.code === grpc.status.UNAVAILABLE, JSON.stringify(outcome));
    assert.ok(logs.some((l) => l.includes('1 call(s) still in flight after the grace period')));
    await until(() => handlerSawCancel, 5000, 'the handler to see the cancel');
  });

  it('serves without a registry, and refuses bad options', async () => {
    const { server, client } = await start();
    assert.equal(server.registration, undefined);
    assert.ok((await client.echo({ message: 'x' })).ok);
    const bad: Array<Partial<ServeOptions>> = [{ name: '' }, { name: 'a/b' }, { id: 'x/y' }, { services: [] }, { port: -1 }, { graceMs: -1 }, { services: [[ECHO, {}], [ECHO, {}]] }];
    for (const o of bad) await assert.rejects(start(o), (e) => isCoordError(e, 'invalid-argument'), JSON.stringify(Object.keys(o)));
  });
});
