// Adaptive load shedding in a real server process: an Echo service whose every call burns CPU
// is driven far past its capacity. Once its event loop is saturated it must refuse some calls
// with RESOURCE_EXHAUSTED, answer every call it admits, and serve normally again once the load
// is gone. No latency thresholds: the assertions are about outcomes, with generous time limits.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { until } from '../helpers/coord-fixture.ts';
import { startEchoService, stopAllEchoServices } from '../fixtures/echo-service-process.ts';
import { EchoClient, type Outcome } from './grpc-serve-helpers.ts';
import type { EchoReply } from '../helpers/echo.ts';

/** CPU per call: the server manages roughly 1000 / CPU_MS calls a second. */
const CPU_MS = 10;
const CONNECTIONS = 4;
const CONCURRENCY_PER_CONNECTION = 16;

describe('load shedding in a server process', () => {
  after(() => stopAllEchoServices());

  it('refuses calls with RESOURCE_EXHAUSTED when saturated, answers all it admits, and recovers', async (t) => {
    const p = await startEchoService({ name: 'busy', args: ['--cpu-ms', String(CPU_MS)] });
    const clients = Array.from({ length: CONNECTIONS }, (_, i) => new EchoClient(p.address, { 'grpc.use_local_subchannel_pool': 1, 'coord.test.connection': i }));
    try {
      // Calm traffic first, one call at a time, so the shedder learns the server's best latency.
      for (let i = 0; i < 60; i++) assert.ok((await clients[0].echo({ message: `calm${i}` })).ok);

      // Then many times its capacity, until it has shed a fair number of calls (or 60 s pass).
      const outcomes: Array<Outcome<EchoReply>> = [];
      let shed = 0;
      const stopAt = Date.now() + 60_000;
      const worker = async (client: EchoClient, w: number) => {
        for (let i = 0; shed < 50 && Date.now() < stopAt; i++) {
          const message = `w${w}-${i}`;
          const o = await client.echo({ message }, { deadline: Date.now() + 60_000 });
          outcomes.push(o);
          if (!o.ok && o.code === grpc.status.RESOURCE_EXHAUSTED) shed++;
          if (o.ok) assert.equal(o.value.message, message);
        }
      };
      await Promise.all(clients.flatMap((c, ci) => Array.from({ length: CONCURRENCY_PER_CONNECTION }, (_, k) => worker(c, ci * 100 + k))));
      const served = outcomes.filter((o) => o.ok).length;
      const others = outcomes.filter((o) => !o.ok && o.code !== grpc.status.RESOURCE_EXHAUSTED);
      t.diagnostic(`figure: ${outcomes.length} calls under overload: ${served} answered, ${shed} shed`);
      assert.ok(shed >= 50, `shed ${shed} of ${outcomes.length} calls`);
      assert.ok(served > 0, 'admitted calls are still answered under overload');
      assert.deepEqual(others.map((o) => !o.ok && `${grpc.status[o.code]} ${o.details}`), [], 'nothing fails but by shedding');
      const refusal = outcomes.find((o) => !o.ok);
      assert.ok(refusal && !refusal.ok && /server overloaded/.test(refusal.details));

      // Load gone: after the cool-off, calls are answered again.
      await until(async () => (await clients[0].echo({ message: 'after' })).ok, 30_000, 'a call answered after the overload');

      process.kill(p.pid, 'SIGTERM');
      const stopped = (await p.waitForEvent('stopped')).stats as { shed: number; shedder: { shed: number } };
      assert.equal(stopped.shed, shed, 'the server counted exactly the refusals the clients saw');
      assert.equal(stopped.shedder.shed, shed);
      assert.match(p.stderr(), /load shedding started: load \d\.\d\d, event-loop delay \d+ ms \(\d+ ms in this turn\), \d+ in flight over a limit of \d+\.\d \(best \d+ req\/s, best RT \d+\.\d ms\)/);
      assert.deepEqual(await p.exited, { code: 0, signal: null });
    } finally {
      for (const c of clients) c.close();
    }
  });
});
