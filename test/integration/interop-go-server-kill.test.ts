// Three Go gRPC servers (test/go/grpc-echo) publish themselves with etcd's endpoints.Manager under
// a 2 s lease kept alive by KeepAlive; a grpc-js client on `etcd:///<target>?format=grpc-go`
// through p2c_ewma calls them without pause, and one is killed with kill -9. The only calls that
// fail are those already sent on the killed server's connection (some sent in the few ms between
// the SIGKILL and grpc-js seeing the connection close): UNAVAILABLE, all at once; no call started
// after fails. The record goes when the lease expires (nothing deletes it) and the calls go on to
// the two survivors. Both backends.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { backends, type RunningBackend } from '../helpers/backends.ts';
import { buildGoProgram, requireGo } from '../helpers/go-program.ts';
import { startGoProcess, stopGoProcesses, type GoProcess } from '../helpers/go-process.ts';
import { until } from '../helpers/coord-fixture.ts';
import { GrpcFixture } from './grpc-balancer-fixture.ts';

const skipGo = requireGo();
const TTL_S = 2;
const WORKERS = 8;

interface Call {
  start: number;
  end: number;
  /** The address the call was sent to. */
  peer: string;
  id?: string;
  error?: string;
}

/** One Echo call: when it started and ended, where it went, who answered or how it failed. */
function call(client: ReturnType<GrpcFixture['client']>): Promise<Call> {
  const start = performance.now();
  return new Promise((resolve) => {
    const c = client.Echo({ message: 'hi' }, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (error, reply) =>
      resolve({ start, end: performance.now(), peer: c.getPeer(), id: reply?.server_id, error: error ? `${error.code} ${error.details}` : undefined }),
    );
  });
}

for (const backend of backends()) {
  describe(`Go gRPC servers killed with kill -9 while coord calls them, on ${backend.name}`, { skip: backend.skip ?? skipGo }, () => {
    let running: RunningBackend;
    let f: GrpcFixture;
    let bin: string;
    before(async () => {
      bin = await buildGoProgram('grpc-echo');
      running = await backend.start();
      f = await GrpcFixture.start({ endpoint: running.endpoint, namespace: '/go-server-kill/' });
    });
    after(async () => {
      await stopGoProcesses();
      await f?.close();
      await running?.stop();
    });

    it('fails only the calls in flight on the killed server; it leaves discovery when its lease expires; the survivors take the calls', async () => {
      const target = `go-kill-${backend.name.replace(' ', '-')}/echo`;
      const servers: Array<{ p: GoProcess; id: string; addr: string }> = [];
      for (const id of ['g1', 'g2', 'g3']) {
        const p = startGoProcess(bin, ['-mode', 'server', '-endpoint', f.endpoint, '-target', target, '-id', id, '-ttl', String(TTL_S)]);
        const listening = await p.waitFor((l) => l.event === 'listening', `${id} listening`);
        servers.push({ p, id, addr: listening.addr as string });
      }
      const discovery = f.coord.discover(target, { format: 'grpc-go' });
      try {
        await discovery.ready;
        const listed = () => discovery.snapshot().instances.map((i) => i.endpoints[0]).sort();
        assert.deepEqual(listed(), servers.map((s) => `grpc://${s.addr}`).sort());
        let goneAt: number | undefined;
        const victim = servers[1]!;
        discovery.onChange((s) => {
          if (goneAt === undefined && !s.instances.some((i) => i.endpoints[0] === `grpc://${victim.addr}`)) goneAt = performance.now();
        });

        const client = f.client(`etcd:///${target}?format=grpc-go`, { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ p2c_ewma: {} }] }) });
        const calls: Call[] = [];
        let stop = false;
        const worker = async () => {
          while (!stop) {
            calls.push(await call(client));
          }
        };
        const load = Promise.all(Array.from({ length: WORKERS }, worker));
        const answeredBy = (id: string, from = 0) => calls.filter((c) => c.start >= from && c.id === id).length;
        await until(() => servers.every((s) => answeredBy(s.id) >= 50), 20_000, 'each Go server to answer 50 calls');

        const killedAt = performance.now();
        const exit = await victim.p.kill('SIGKILL');
        const reapedAt = performance.now();
        assert.equal(exit.signal, 'SIGKILL');
        assert.ok(listed().includes(`grpc://${victim.addr}`), 'the killed server is still listed: only its lease can remove it');
        await until(() => goneAt !== undefined, (TTL_S + 5) * 1000, `${victim.id} to leave discovery when its lease expires`);
        const survivorsFrom = performance.now();
        await until(() => calls.filter((c) => c.start >= survivorsFrom).length >= 500, 20_000, '500 calls after the lease expired');
        stop = true;
        await load;

        const failed = calls.filter((c) => c.error);
        // When grpc-js learnt that the connection was gone: every call still on it failed then.
        const noticedAt = failed.length ? Math.min(...failed.map((c) => c.end)) : killedAt;
        const ms = (t: number) => Math.round(t - killedAt);
        const openAtKill = calls.filter((c) => c.peer === victim.addr && c.end >= killedAt);
        const leaseGoneMs = ms(goneAt!);
        console.log(
          `${backend.name}: ${calls.length} calls, ${failed.length} failed. ` +
            `${openAtKill.length} calls to the killed server ended after the SIGKILL: ${openAtKill.filter((c) => !c.error).length} answered before the process was gone, ` +
            `${failed.length} failed together ${ms(noticedAt)} ms after it (exit seen after ${ms(reapedAt)} ms) with ${JSON.stringify([...new Set(failed.map((c) => c.error))])}, ` +
            `started ${JSON.stringify(failed.map((c) => ms(c.start)))} ms from the SIGKILL. ` +
            `${calls.filter((c) => c.start >= noticedAt).length} calls after that, ${calls.filter((c) => c.start >= noticedAt && c.error).length} failed. ` +
            `The killed server left discovery ${leaseGoneMs} ms after the kill (lease TTL ${TTL_S} s); ` +
            `from then g1 answered ${answeredBy('g1', survivorsFrom)}, g3 ${answeredBy('g3', survivorsFrom)}, g2 ${answeredBy('g2', survivorsFrom)}.`,
        );
        // The Go servers' own output (JSON lines on stdout, notes on stderr), the killed one's included.
        for (const s of servers) console.log(`Go server ${s.id} (pid ${s.p.pid}): ${s.p.lines.map((l) => JSON.stringify(l)).join(' ')}${s.p.stderr().trim() ? ` | stderr: ${s.p.stderr().trim().slice(-300)}` : ''}`);
        // Only calls already sent on the killed server's connection fail, with UNAVAILABLE, at
        // once; no call started after grpc-js saw the connection go is routed there.
        assert.deepEqual(
          failed.filter((c) => c.peer !== victim.addr || c.start >= noticedAt || !c.error!.startsWith('14 ')),
          [],
          'every failed call was UNAVAILABLE, on the killed server, started before the loss was noticed',
        );
        assert.ok(failed.length <= WORKERS, `at most one failed call per worker (${failed.length})`);
        assert.ok(noticedAt - killedAt < 1000, `the loss was noticed ${ms(noticedAt)} ms after the kill`);
        // It was still listed once the process had exited (checked above): only the lease removed it,
        // at most TTL after the last keepalive (etcd checks expiry every 500 ms, coord store on a timer).
        assert.ok(leaseGoneMs <= TTL_S * 1000 + 2500, `left discovery ${leaseGoneMs} ms after the kill`);
        assert.equal(answeredBy('g2', reapedAt), 0, 'the killed server answers nothing after it died');
        assert.ok(answeredBy('g1', survivorsFrom) > 100 && answeredBy('g3', survivorsFrom) > 100, 'both survivors take calls');
      } finally {
        discovery.close();
      }
    });
  });
}
