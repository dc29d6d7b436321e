// Deadline propagation across two hops (client → A → B) and per-method timeouts, with real
// grpc-js servers on loopback. No timing thresholds: every assertion is about which deadline a
// server saw or which status a call ended with.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { bindCallContext, currentCallContext, detachCallContext } from '../../src/grpc/call-context.ts';
import { clientInterceptors } from '../../src/grpc/client-interceptors.ts';
import { deadlineMs } from '../../src/resilience/deadline.ts';
import { methodPolicies } from '../../src/resilience/retry-policy.ts';
import { echoService, type EchoReply, type EchoRequest } from '../helpers/echo.ts';

const { service, Client } = echoService();
type EchoClient = grpc.Client & {
  Echo(req: EchoRequest, md: grpc.Metadata, options: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: EchoReply) => void): grpc.ClientUnaryCall;
  EchoStream(req: EchoRequest, md: grpc.Metadata, options: grpc.CallOptions): grpc.ClientReadableStream<EchoReply>;
};

const cleanup: Array<() => void> = [];
after(() => cleanup.splice(0).reverse().forEach((f) => f()));

async function serve(impl: grpc.UntypedServiceImplementation): Promise<string> {
  const server = new grpc.Server();
  server.addService(service, bindCallContext(service, impl));
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  cleanup.push(() => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

function client(address: string, options: grpc.ClientOptions = {}): EchoClient {
  const c = new Client(address, grpc.credentials.createInsecure(), options) as unknown as EchoClient;
  cleanup.push(() => c.close());
  return c;
}

function echo(c: EchoClient, req: EchoRequest, options: grpc.CallOptions = {}): Promise<EchoReply> {
  return new Promise((resolve, reject) => c.Echo(req, new grpc.Metadata(), options, (e, r) => (e ? reject(e) : resolve(r!))));
}

const code = (e: unknown) => (e as grpc.ServiceError).code;

/** Answers with the deadline it was called with, as JSON; holds calls whose message is 'hang' until they end. */
function deadlineReporter() {
  const seen: number[] = [];
  let cancelled = 0;
  let onHeld: (() => void) | undefined;
  const impl: grpc.UntypedServiceImplementation = {
    Echo(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
      const deadline = deadlineMs(call.getDeadline());
      seen.push(deadline);
      if (call.request.message === 'hang') {
        call.on('cancelled', () => cancelled++);
        onHeld?.();
        return;
      }
      cb(null, { message: JSON.stringify(deadline), server_id: 'B' });
    },
    EchoStream(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
      seen.push(deadlineMs(call.getDeadline()));
      call.write({ message: JSON.stringify(deadlineMs(call.getDeadline())), server_id: 'B' });
      call.end();
    },
  };
  return { impl, seen, cancelled: () => cancelled, held: () => new Promise<void>((r) => (onHeld = r)) };
}

describe('deadline propagation, client → A → B', { timeout: 30_000 }, () => {
  it('B sees a deadline no later than the one A received; without the interceptor it sees none', async () => {
    const b = deadlineReporter();
    const bAddress = await serve(b.impl);
    const propagating = client(bAddress, { interceptors: clientInterceptors({ deadline: { marginMs: 1000 }, throttle: false }) });
    const plain = client(bAddress);
    let aSaw = NaN;
    const aAddress = await serve({
      async Echo(_call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
        aSaw = currentCallContext()!.deadline;
        await new Promise((r) => setTimeout(r, 1)); // the context must survive awaits
        const [viaInterceptor, viaPlain] = await Promise.all([echo(propagating, {}), echo(plain, {})]);
        cb(null, { message: JSON.stringify([JSON.parse(viaInterceptor.message), JSON.parse(viaPlain.message)]), server_id: 'A' });
      },
    });
    const sent = Date.now() + 30_000;
    const reply = await echo(client(aAddress), {}, { deadline: sent });
    const [bSawPropagated, bSawPlain] = JSON.parse(reply.message) as [number | null, number | null];
    assert.ok(Number.isFinite(aSaw), 'A saw the client deadline');
    assert.ok(bSawPropagated !== null, 'B saw a deadline');
    assert.ok(bSawPropagated <= aSaw, `B's deadline ${bSawPropagated} is not after A's ${aSaw}`);
    assert.equal(bSawPlain, null, 'a client without the interceptor sends no deadline (JSON null = Infinity)');
  });

  it('outside a handler the interceptor adds nothing', async () => {
    const b = deadlineReporter();
    const c = client(await serve(b.impl), { interceptors: clientInterceptors({ throttle: false }) });
    assert.equal(JSON.parse((await echo(c, {})).message), null);
  });

  it('a streaming handler propagates too', async () => {
    const b = deadlineReporter();
    const toB = client(await serve(b.impl), { interceptors: clientInterceptors({ throttle: false }) });
    const aAddress = await serve({
      EchoStream(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
        setImmediate(async () => {
          call.write(await echo(toB, {}));
          call.end();
        });
      },
    });
    const stream = client(aAddress).EchoStream({}, new grpc.Metadata(), { deadline: Date.now() + 30_000 });
    const [reply] = (await stream.toArray()) as EchoReply[];
    assert.ok(Number.isFinite(JSON.parse(reply.message)), 'B saw a deadline from a call made in a server-streaming handler');
  });

  it('when A has no budget left, B is not called and A gets DEADLINE_EXCEEDED at once', async () => {
    const b = deadlineReporter();
    const toB = client(await serve(b.impl), { interceptors: clientInterceptors({ deadline: { marginMs: 5000 }, throttle: false }) });
    const aAddress = await serve({
      async Echo(_call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
        const outcome = await echo(toB, {}).then(
          () => 'called B',
          (e: grpc.ServiceError) => `${e.code} ${e.details}`,
        );
        cb(null, { message: outcome, server_id: 'A' });
      },
    });
    // 2 s of budget against a 5 s margin: nothing is left for B.
    const reply = await echo(client(aAddress), {}, { deadline: Date.now() + 2000 });
    assert.match(reply.message, new RegExp(`^${grpc.status.DEADLINE_EXCEEDED} /coord.test.Echo/Echo not sent: the incoming call /coord.test.Echo/Echo has \\d+ ms left`));
    assert.equal(b.seen.length, 0, 'B was never called');
  });

  it('cancelling the incoming call cancels the outgoing one', { timeout: 20_000 }, async () => {
    const b = deadlineReporter();
    const toB = client(await serve(b.impl), { interceptors: clientInterceptors({ throttle: false }) });
    let aOutcome: Promise<grpc.status> | undefined;
    const aAddress = await serve({
      Echo(_call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
        aOutcome = echo(toB, { message: 'hang' }).then(
          () => grpc.status.OK,
          (e) => code(e),
        );
        void aOutcome.then(() => cb(null, { message: '', server_id: 'A' }));
      },
    });
    const bHolds = b.held();
    // No deadline anywhere: only cancellation can end B's call.
    const call = client(aAddress).Echo({}, new grpc.Metadata(), {}, () => {});
    await bHolds;
    call.cancel();
    assert.equal(await aOutcome, grpc.status.CANCELLED, "A's outgoing call ended CANCELLED");
    while (b.cancelled() === 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal(b.cancelled(), 1, "B's handler saw its call cancelled");
  });

  it('a call made after the incoming call was answered is refused, unless detached', async () => {
    const b = deadlineReporter();
    const toB = client(await serve(b.impl), { interceptors: clientInterceptors({ throttle: false }) });
    let later: Promise<[grpc.status, grpc.status]> | undefined;
    const aAddress = await serve({
      Echo(_call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
        const { signal } = currentCallContext()!;
        cb(null, { message: '', server_id: 'A' });
        // Background work once the call has ended: still inside the handler's async context.
        later = new Promise((r) => signal.addEventListener('abort', r, { once: true })).then(() =>
          Promise.all([
            echo(toB, {}).then(() => grpc.status.OK, code),
            detachCallContext(() => echo(toB, {})).then(() => grpc.status.OK, code),
          ]),
        );
      },
    });
    await echo(client(aAddress), {}, { deadline: Date.now() + 30_000 });
    assert.deepEqual(await later, [grpc.status.CANCELLED, grpc.status.OK]);
    assert.equal(b.seen.length, 1, 'only the detached call reached B');
  });
});

describe('per-method timeouts (service config, enforced by grpc-js)', { timeout: 30_000 }, () => {
  const policies = methodPolicies({
    '*': { timeoutMs: 120_000 },
    'coord.test.Echo': { timeoutMs: 60_000 },
    'coord.test.Echo/Echo': { timeoutMs: 200 },
  });

  it('the most specific policy applies: method, then service, then default', async () => {
    const b = deadlineReporter();
    const c = client(await serve(b.impl), { 'grpc.service_config': JSON.stringify(policies) });
    const before = Date.now();
    // Echo: 200 ms, and B holds the call, so it must end DEADLINE_EXCEEDED.
    await assert.rejects(echo(c, { message: 'hang' }), (e) => code(e) === grpc.status.DEADLINE_EXCEEDED);
    // EchoStream: the service's 60 s, not the default 120 s.
    const [reply] = (await c.EchoStream({}, new grpc.Metadata(), {}).toArray()) as EchoReply[];
    const streamDeadline = JSON.parse(reply.message) as number;
    assert.ok(streamDeadline > before + 30_000 && streamDeadline < before + 90_000, `EchoStream deadline ${streamDeadline - before} ms out`);
  });

  it("a call's own earlier deadline wins over the policy", async () => {
    const b = deadlineReporter();
    const c = client(await serve(b.impl), { 'grpc.service_config': JSON.stringify(policies) });
    const own = Date.now() + 10_000;
    const [reply] = (await c.EchoStream({}, new grpc.Metadata(), { deadline: own }).toArray()) as EchoReply[];
    assert.ok(JSON.parse(reply.message) < own + 5_000, 'B saw the 10 s deadline, not the 60 s policy');
  });
});
