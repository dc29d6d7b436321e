// Go's concurrency.Mutex and coord's lock exclude each other (issue: the README claimed it; now a
// real Go program proves it). Go and Node workers take the same lock (<ns>locks/<name>, etcd's
// layout) and, while holding it, bump a shared counter with a compare-and-swap on its mod
// revision: any overlap between holders fails a swap, and the fencing tokens both sides report (the
// lock key's create revision) must rise from each holder to the next. Both backends; the Go
// program's own output goes to the test log.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { compare, connect, op, type Coord } from '../../src/index.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';
import { buildGoProgram, requireGo } from '../helpers/go-program.ts';

const ROUNDS = 15;
const skipGo = requireGo();

for (const backend of backends()) {
  describe(`Go concurrency.Mutex and coord locks on ${backend.name}`, { skip: backend.skip ?? skipGo }, () => {
    const f = useBackend(backend);
    let bin: string;
    const coords: Coord[] = [];
    before(async () => {
      bin = await buildGoProgram('mutex-worker');
    });
    after(async () => {
      for (const c of coords) await c.close();
    });

    it(`2 Go and 2 Node workers, ${ROUNDS} rounds each: every swap succeeds, the counter ends at ${4 * ROUNDS}`, async () => {
      const ns = `/${f.prefix('go-mutex')}`;
      const counter = `${ns}counter`;
      const nodeWorker = async () => {
        const c = connect({ endpoints: [f.endpoint], namespace: ns });
        coords.push(c);
        const lines: string[] = [];
        for (let i = 0; i < ROUNDS; i++) {
          await using lock = await c.lock('interop', { ttl: 10 });
          const kv = await c.etcd.get(counter);
          const n = kv ? Number(kv.value.toString()) : 0;
          await new Promise((r) => setTimeout(r, 5));
          const r = await c.etcd.txn({ compare: [compare.modRevision(counter, '=', kv?.modRevision ?? 0)], success: [op.put(counter, String(n + 1))] });
          lines.push(`round ${i} token ${lock.fencingToken} counter ${n}->${n + 1} ok=${r.succeeded}`);
        }
        return lines.join('\n');
      };
      const goWorker = async () => {
        const { stdout } = await promisify(execFile)(bin, ['-endpoint', f.endpoint, '-lock', `${ns}locks/interop`, '-counter', counter, '-rounds', String(ROUNDS)], { timeout: 120_000 });
        return stdout.trim();
      };
      const outputs = await Promise.all([goWorker(), nodeWorker(), goWorker(), nodeWorker()]);
      // Each worker's own lines, summed up: the first and last round, and any failed swap in full.
      for (const [i, out] of outputs.entries()) {
        const lines = out.split('\n');
        const failed = lines.filter((l) => !l.endsWith('ok=true'));
        console.log(`${backend.name}: ${i % 2 === 0 ? 'Go' : 'Node'} worker ${i}: ${lines.length} rounds, ${failed.length} failed swaps; first "${lines[0]}", last "${lines.at(-1)}"${failed.length ? `; failed: ${failed.join(' | ')}` : ''}`);
      }
      const all = outputs.join('\n').split('\n');
      assert.equal(all.length, 4 * ROUNDS);
      assert.deepEqual(all.filter((l) => !l.endsWith('ok=true')), [], 'a swap failed: two holders overlapped');
      // Fencing across implementations: ordered by the counter value each holder found, the tokens
      // (the lock key's create revision, from Go and from coord) strictly increase.
      const rounds = all.map((l) => /token (\d+) counter (\d+)->/.exec(l)!).map((m) => ({ token: Number(m[1]), n: Number(m[2]) }));
      rounds.sort((a, b) => a.n - b.n);
      assert.deepEqual(rounds.map((r) => r.n), Array.from({ length: 4 * ROUNDS }, (_, i) => i), 'each holder saw the previous one\'s write');
      const backwards = rounds.filter((r, i) => i > 0 && r.token <= rounds[i - 1].token);
      assert.deepEqual(backwards, [], 'a later holder had a token not above the one before it');
      const c = coords[0];
      assert.equal((await c.etcd.get(counter))?.value.toString(), String(4 * ROUNDS));
    });
  });
}
