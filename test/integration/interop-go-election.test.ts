// Go's concurrency.Election and coord's elections see the same leader, both ways: a Go leader is
// what coord's observe() reports and blocks coord's campaign until it resigns; then coord leads
// and a Go observer reports it. Both backends; the Go programs' output goes to the test log.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { connect, type Coord } from '../../src/index.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';
import { buildGoProgram, requireGo } from '../helpers/go-program.ts';
import { until } from '../helpers/coord-fixture.ts';
import { LineCollector } from '../helpers/output-lines.ts';

const skipGo = requireGo();

/** Starts the Go worker; `lines` fills with its stdout lines, `waitFor` resolves when one matches. */
function goWorker(bin: string, args: string[]) {
  const child: ChildProcess = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const collector = new LineCollector();
  const lines = collector.lines;
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    // A line may arrive in two chunks: only whole lines count.
    collector.push(d);
    waiters.splice(0).forEach((w) => w());
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (line: string, ms = 30_000) => {
    const end = Date.now() + ms;
    while (!lines.includes(line)) {
      if (Date.now() > end) throw new Error(`Go worker never printed "${line}"; stdout: ${lines.join(' | ')}; stderr: ${stderr}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  return { child, lines, waitFor, exited, stderr: () => stderr };
}

for (const backend of backends()) {
  describe(`Go concurrency.Election and coord elections on ${backend.name}`, { skip: backend.skip ?? skipGo }, () => {
    const f = useBackend(backend);
    let bin: string;
    const coords: Coord[] = [];
    before(async () => {
      bin = await buildGoProgram('election-worker');
    });
    after(async () => {
      for (const c of coords) await c.close();
    });

    it('a Go leader is seen by coord and blocks its campaign; after Go resigns coord leads and a Go observer sees it', async () => {
      const ns = `/${f.prefix('go-elect')}`;
      const c = connect({ endpoints: [f.endpoint], namespace: ns });
      coords.push(c);
      const prefix = c.electionPrefix('interop');
      const goLeader = goWorker(bin, ['-endpoint', f.endpoint, '-election', prefix, '-mode', 'campaign', '-value', 'go-1']);
      await goLeader.waitFor('elected go-1');

      const observer = new AbortController();
      const seen: string[] = [];
      const observing = (async () => {
        for await (const leader of c.observe('interop', observer.signal)) {
          seen.push(leader ? leader.value.toString() : '(none)');
        }
      })().catch(() => {});
      let nodeLeads = false;
      const campaign = c.campaign('interop', 'node-1').then((l) => ((nodeLeads = true), l));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(nodeLeads, false, 'coord must wait while the Go leader holds the election');
      assert.equal(seen[0], 'go-1', `coord observed ${seen.join(', ')}`);

      const goObserver = goWorker(bin, ['-endpoint', f.endpoint, '-election', prefix, '-mode', 'observe', '-until', 'node-1']);
      await goObserver.waitFor('leader go-1');
      goLeader.child.stdin!.end('resign\n');
      await goLeader.waitFor('resigned');
      const leadership = await campaign;
      await goObserver.waitFor('leader node-1');
      assert.equal(await goObserver.exited, 0);
      assert.equal(await goLeader.exited, 0);
      // coord's own observer hears of its leadership on its watch, a moment after the campaign resolves.
      await until(() => seen.includes('node-1'), 10_000, `coord observing node-1 (saw ${seen.join(', ')})`);
      console.log(`Go leader: ${goLeader.lines.join(' | ')}\nGo observer: ${goObserver.lines.join(' | ')}\ncoord observed: ${seen.join(' | ')}`);
      await leadership.resign();
      observer.abort();
      await observing;
    });
  });
}
