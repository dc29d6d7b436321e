// A Go gRPC client (test/go/grpc-echo -mode client: etcd 3.4's clientv3/naming/resolver with
// round_robin) calls three Node servers started with serve({ formats: ['grpc-go'] }) in child
// processes (test/fixtures/echo-service.ts) while they are restarted one at a time: the
// replacement is started first and waited for until it answers the Go client, then the old one
// gets SIGTERM. Draining deletes its grpc-go key at once, so Go's resolver drops it, and it keeps
// serving for drainDelayMs before refusing new calls. No Go call may fail, and the old server may
// get only a handful of calls while it drains. Both backends.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends, type RunningBackend } from '../helpers/backends.ts';
import { buildGoProgram, requireGo } from '../helpers/go-program.ts';
import { startGoProcess, stopGoProcesses, type GoLine } from '../helpers/go-process.ts';
import { startEchoService, stopAllEchoServices, type EchoServiceProcess } from '../fixtures/echo-service-process.ts';

const skipGo = requireGo();
const DRAIN_DELAY_MS = 1000;
const REPORT_MS = 50;

interface Counts extends GoLine {
  event: 'counts' | 'final';
  calls: number;
  ok: number;
  failed: number;
  byServer: Record<string, number>;
  errors: Array<{ code: string; message: string; atMs: number }>;
}

for (const backend of backends()) {
  describe(`a Go gRPC client through a rolling restart of Node servers, on ${backend.name}`, { skip: backend.skip ?? skipGo }, () => {
    let running: RunningBackend;
    let bin: string;
    before(async () => {
      bin = await buildGoProgram('grpc-echo');
      running = await backend.start();
    });
    after(async () => {
      await stopGoProcesses();
      await stopAllEchoServices();
      await running?.stop();
    });

    it('the Go client (etcd resolver, round_robin) loses no call while each server is replaced and SIGTERMed', async () => {
      const name = `go-rolling-${backend.name.replace(' ', '-')}`;
      const start = (id: string) =>
        startEchoService({
          endpoints: [running.endpoint],
          namespace: '/go-rolling/',
          name,
          id,
          // No shedding: the Go client keeps four calls going all the time, and RESOURCE_EXHAUSTED
          // from a busy machine is not what this test is about.
          args: ['--format', 'grpc-go', '--drain-delay-ms', String(DRAIN_DELAY_MS), '--grace-ms', '5000', '--no-shedding'],
        });
      const servers: EchoServiceProcess[] = await Promise.all(['n1', 'n2', 'n3'].map(start));
      const go = startGoProcess(bin, ['-mode', 'client', '-endpoint', running.endpoint, '-target', name, '-concurrency', '4', '-pause-ms', '1', '-report-ms', String(REPORT_MS)]);
      const latest = () => go.lines.at(-1) as Counts | undefined;
      const answered = (id: string, atLeast: number, what: string) => go.waitFor((l) => ((l as Counts).byServer?.[id] ?? 0) >= atLeast, what, 20_000);
      for (const s of servers) await answered(s.id, 20, `${s.id} to answer the Go client`);

      const replaced: string[] = [];
      const drainCalls: string[] = [];
      for (const [i, old] of [...servers].entries()) {
        const next = await start(`n${i + 4}`);
        await answered(next.id, 20, `${next.id} (replacing ${old.id}) to answer the Go client`);
        const [linesBefore, callsBefore] = [go.lines.length, latest()!.calls];
        assert.deepEqual(await old.kill('SIGTERM'), { code: 0, signal: null }, old.stderr());
        // Go prints a line every REPORT_MS: the call rate while this server drained and stopped.
        const perSecond = ((latest()!.calls - callsBefore) * 1000) / ((go.lines.length - linesBefore) * REPORT_MS);
        const stats = (event: string) => old.events.find((e) => e.event === event)!.stats as { started: number; inFlight: number };
        assert.equal(stats('stopped').inFlight, 0, `${old.id} stopped with no call in flight`);
        const inDrain = stats('stopped').started - stats('draining').started;
        // Had Go kept routing here until the server stopped serving, it would have had one call in
        // four (four servers were up) for DRAIN_DELAY_MS; Go's resolver must drop it when its key goes.
        const ifStillRouted = Math.round(((perSecond / 4) * DRAIN_DELAY_MS) / 1000);
        drainCalls.push(`${inDrain} (${ifStillRouted} if still routed)`);
        assert.ok(inDrain * 4 < ifStillRouted, `${old.id} got ${inDrain} Go calls while draining, ${ifStillRouted} if Go had kept routing to it`);
        replaced.push(`${old.id}→${next.id}`);
      }
      const callsAfter = latest()?.calls ?? 0;
      await go.waitFor((l) => (l as Counts).calls >= callsAfter + 500, '500 more Go calls after the last restart', 20_000);
      go.child.stdin!.end();
      const final = (await go.waitFor((l) => l.event === 'final', 'the final counts')) as Counts;
      assert.deepEqual(await go.exited, { code: 0, signal: null }, go.stderr());

      // The Go client's own output: one JSON line every REPORT_MS (first shown) and its final counts.
      console.log(`${backend.name}: Go client printed ${go.lines.length} lines; first ${JSON.stringify(go.lines[0])}; last ${JSON.stringify(final)}${go.stderr().trim() ? `; stderr: ${go.stderr().trim().slice(-500)}` : ''}`);
      console.log(`${backend.name}: Go client ${final.calls} calls, ${final.failed} failed, by server ${JSON.stringify(final.byServer)} (${replaced.join(', ')}); Go calls on each old server while it drained: ${drainCalls.join(', ')}; errors ${JSON.stringify(final.errors)}`);
      assert.equal(final.failed, 0, `Go calls failed: ${JSON.stringify(final.errors)}`);
      assert.equal(final.ok, final.calls);
      assert.deepEqual(Object.keys(final.byServer).sort(), ['n1', 'n2', 'n3', 'n4', 'n5', 'n6']);
    });
  });
}
