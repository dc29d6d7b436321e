// Retries (grpc-js's retryPolicy and retry budget, configured through methodPolicies) and adaptive
// throttling, with real grpc-js servers on loopback. Assertions count calls the servers received
// and statuses the client saw; none depends on how fast this machine is.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { clientInterceptors } from '../../src/grpc/client-interceptors.ts';
import { serviceConfig } from '../../src/grpc/service-config.ts';
import { AdaptiveThrottle } from '../../src/resilience/adaptive-throttle.ts';
import { methodPolicies, type MethodPolicies, type RetryBudget } from '../../src/resilience/retry-policy.ts';
import { echoHandlers, echoService, startEchoServer, type EchoReply, type EchoRequest, type EchoServer } from '../helpers/echo.ts';
import { GrpcFixture } from './grpc-balancer-fixture.ts';

const { service, Client } = echoService();
type EchoClient = grpc.Client & {
  Echo(req: EchoRequest, md: grpc.Metadata, options: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: EchoReply) => void): grpc.ClientUnaryCall;
};

const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function server(): Promise<EchoServer> {
  const s = await startEchoServer('backend');
  cleanup.push(() => s.close());
  return s;
}

function client(address: string, options: grpc.ClientOptions = {}): EchoClient {
  const c = new Client(address, grpc.credentials.createInsecure(), options) as unknown as EchoClient;
  cleanup.push(() => c.close());
  return c;
}

function echo(c: EchoClient, req: EchoRequest = {}): Promise<EchoReply> {
  return new Promise((resolve, reject) => c.Echo(req, new grpc.Metadata(), {}, (e, r) => (e ? reject(e) : resolve(r!))));
}

/** The status a call ended with (0 = OK). */
const outcome = (c: EchoClient, req: EchoRequest = {}) =>
  echo(c, req).then(
    () => grpc.status.OK,
    (e: grpc.ServiceError) => e.code,
  );

const retrying = (policy: MethodPolicies[string]['retry'], retryBudget?: RetryBudget | false) => ({
  'grpc.service_config': JSON.stringify(methodPolicies({ 'coord.test.Echo/Echo': { retry: policy } }, { retryBudget })),
});

describe('retries through the service config', { timeout: 30_000 }, () => {
  it('a server failing UNAVAILABLE twice, then answering: the call succeeds on the third attempt', async () => {
    let calls = 0;
    const s = new grpc.Server();
    const handlers = echoHandlers('flaky');
    s.addService(service, {
      ...handlers,
      Echo(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
        if (++calls <= 2) cb({ code: grpc.status.UNAVAILABLE, details: `attempt ${calls} refused` });
        else (handlers.Echo as grpc.handleUnaryCall<EchoRequest, EchoReply>)(call, cb);
      },
    });
    const port = await new Promise<number>((res, rej) => s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    cleanup.push(() => s.forceShutdown());

    const reply = await echo(client(`127.0.0.1:${port}`, retrying({ maxAttempts: 3, initialBackoffMs: 10 })), { message: 'hi' });
    assert.equal(reply.message, 'hi');
    assert.equal(calls, 3);
  });

  it('a retryable code is retried up to maxAttempts; a non-retryable one is not retried', async () => {
    const s = await server();
    const c = client(s.address, retrying({ maxAttempts: 4, initialBackoffMs: 10 }, false));
    s.behaviour.failCode = grpc.status.UNAVAILABLE;
    assert.equal(await outcome(c), grpc.status.UNAVAILABLE);
    assert.equal(s.calls(), 4);
    s.behaviour.failCode = grpc.status.INVALID_ARGUMENT;
    assert.equal(await outcome(c), grpc.status.INVALID_ARGUMENT);
    assert.equal(s.calls(), 5, 'INVALID_ARGUMENT: one attempt');
  });

  it('the retry budget stops retries while the backend keeps failing', async () => {
    const s = await server();
    s.behaviour.failCode = grpc.status.UNAVAILABLE;
    // 4 tokens, retries allowed while more than 2 remain: the first call gets one retry, then none.
    const c = client(s.address, retrying({ maxAttempts: 5, initialBackoffMs: 10 }, { maxTokens: 4, tokenRatio: 0.1 }));
    assert.equal(await outcome(c), grpc.status.UNAVAILABLE);
    const firstCall = s.calls();
    assert.equal(firstCall, 2, 'one retry, then the budget ran out');
    for (let i = 0; i < 5; i++) assert.equal(await outcome(c), grpc.status.UNAVAILABLE);
    assert.equal(s.calls(), firstCall + 5, 'no more retries: one attempt per call');
  });
});

describe('adaptive throttling', { timeout: 60_000 }, () => {
  const throttled = (throttle: AdaptiveThrottle, address: string) => client(address, { interceptors: clientInterceptors({ throttle, deadline: false }) });

  it('rejects locally while the backend fails, and recovers once it heals', async () => {
    const s = await server();
    // No timed probes: how many calls get through must not depend on how fast this machine runs them.
    const throttle = new AdaptiveThrottle({ windowMs: 2000, minRequests: 10, probeIntervalMs: 3_600_000 });
    const c = throttled(throttle, s.address);
    s.behaviour.failCode = grpc.status.UNAVAILABLE;

    const errors: grpc.ServiceError[] = [];
    for (let i = 0; i < 200; i++) await echo(c).catch((e: grpc.ServiceError) => errors.push(e));
    assert.equal(errors.length, 200);
    const local = errors.filter((e) => /rejected locally by adaptive throttling/.test(e.details));
    assert.ok(local.length > 100, `only ${local.length} of 200 calls were rejected locally`);
    assert.ok(local.every((e) => e.code === grpc.status.UNAVAILABLE));
    assert.match(local[0].details, /last refusal: UNAVAILABLE echo backend: failing as asked/, 'the rejection names the cause');
    assert.equal(s.calls(), 200 - local.length, 'a locally rejected call never reaches the server');
    assert.ok(throttle.stats().rejectProbability > 0.5);

    // Healed: keep calling until a long run succeeds and the throttle rejects nothing (the
    // outage has left the window); the test's timeout is the bound.
    s.behaviour.failCode = 0;
    let run = 0;
    let rejectedAfterHeal = 0;
    while (run < 100 || throttle.rejectProbability() > 0) {
      const code = await outcome(c);
      if (code === grpc.status.OK) run++;
      else {
        assert.equal(code, grpc.status.UNAVAILABLE);
        rejectedAfterHeal++;
        run = 0;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    assert.ok(rejectedAfterHeal > 0, 'right after healing the window still remembered the outage');
  });

  it('application errors count as accepted: the backend answered', async () => {
    const s = await server();
    const throttle = new AdaptiveThrottle({ windowMs: 60_000, minRequests: 10 });
    const c = throttled(throttle, s.address);
    s.behaviour.failCode = grpc.status.NOT_FOUND;
    for (let i = 0; i < 100; i++) assert.equal(await outcome(c), grpc.status.NOT_FOUND);
    assert.equal(s.calls(), 100);
    assert.deepEqual(throttle.stats(), { requests: 100, accepts: 100, rejected: 0, healthyShare: 1, rejectProbability: 0, rejectedTotal: 0 });
  });

  it('RESOURCE_EXHAUSTED (load shedding) counts as a refusal', async () => {
    const s = await server();
    const throttle = new AdaptiveThrottle({ windowMs: 60_000, minRequests: 10, random: () => 0.5 });
    const c = throttled(throttle, s.address);
    s.behaviour.failCode = grpc.status.RESOURCE_EXHAUSTED;
    for (let i = 0; i < 20; i++) await outcome(c);
    // With the dice fixed at 0.5, calls are admitted until the probability passes 0.5, then never.
    assert.ok(s.calls() < 20, `the backend still got all ${s.calls()} calls`);
    assert.equal(throttle.stats().accepts, 0);
  });
});

describe('through etcd:/// with coord\'s balancer service config', { timeout: 60_000 }, () => {
  it('retries move to a healthy instance; the bundle and the retry config ride along', async () => {
    const f = await GrpcFixture.start({ namespace: '/resilience-test/' });
    cleanup.push(() => f.close());
    const svc = f.service();
    const bad = await f.backend('bad');
    const good = await f.backend('good');
    bad.behaviour.failCode = grpc.status.UNAVAILABLE;
    await f.register(svc, bad);
    await f.register(svc, good);
    const throttle = new AdaptiveThrottle();
    const c = f.client(`etcd:///${svc}`, {
      interceptors: clientInterceptors({ throttle }),
      // round_robin so consecutive attempts go to different instances. Half the first attempts
      // fail, more than the default retry budget allows (20 %): this budget allows 50 %.
      'grpc.service_config': serviceConfig({
        policy: { round_robin: {} },
        ...methodPolicies({ 'coord.test.Echo': { timeoutMs: 10_000, retry: { maxAttempts: 3, initialBackoffMs: 10 } } }, { retryBudget: { maxTokens: 10, tokenRatio: 1 } }),
      }),
    });
    const t = await f.tally(c, 40);
    assert.deepEqual(t.errors, []);
    assert.deepEqual([...t.counts.keys()], ['good']);
    assert.ok(bad.calls() > 0, 'some first attempts went to the failing instance and were retried');
    assert.deepEqual([throttle.stats().accepts, throttle.stats().rejected], [40, 0], 'the throttle saw 40 accepted calls: it judges calls, not attempts');
  });
});
