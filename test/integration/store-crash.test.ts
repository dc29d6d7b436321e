// Crash safety of coord store as a real process: writers keep putting and committing txns while
// the store is kill -9ed at random moments, then restarted on the same data dir. Every write the
// store acknowledged must come back with the revision its reply carried, and revisions must
// continue past it. COORD_CRASH_SEED replays a run's kill timings.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CompareResult, CompareTarget, RawClient } from '../helpers/raw-client.ts';
import { makeTempDir, removeTempDir, startStoreProcess, stopAllStoreProcesses } from '../helpers/store-process.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const KILLS = 22;
const WRITERS = 8;
const PREFIX = 'crash/';
const PREFIX_END = 'crash0'; // '/' + 1

/** A write the store acknowledged: `key` had `value` at revision `rev`. */
interface Ack {
  key: string;
  value: string;
  rev: number;
  /** Hot keys are overwritten later, so they are checked with a historical read at `rev`. */
  hot: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('coord store killed with SIGKILL under concurrent writes', () => {
  const dir = makeTempDir('coord-crash-');
  after(async () => {
    await stopAllStoreProcesses();
    removeTempDir(dir);
  });

  it(`loses no acknowledged write across ${KILLS} kills`, async (t) => {
    const seed = Number(process.env.COORD_CRASH_SEED ?? Date.now() % 2 ** 31);
    const killDelay = seededRandom(seed); // its own stream, so the kill timings replay exactly
    const roll = seededRandom(seed ^ 0x5bd1e995);
    const context = `(seed ${seed}; COORD_CRASH_SEED=${seed} replays the kill timings)`;
    const args = ['--data-dir', `${dir}/data`, '--listen', '127.0.0.1:0'];

    const acks: Ack[] = [];
    /** Which acknowledged operation each revision belongs to: two operations must never share one. */
    const revOwner = new Map<number, string>();
    const problems: string[] = [];
    let maxAcked = 0;
    let killsMidWrite = 0;
    let inflightAtKills = 0;
    let seq = 0;
    /** Distinct keys whose write was in flight at a kill: each may or may not have been committed. */
    let unacked: string[] = [];
    let unackedCommitted = 0;
    let unackedLost = 0;

    const acknowledge = (op: string, rev: number, writes: Omit<Ack, 'rev'>[]) => {
      const owner = revOwner.get(rev);
      if (owner !== undefined) problems.push(`revision ${rev} acknowledged for both ${owner} and ${op}`);
      revOwner.set(rev, op);
      maxAcked = Math.max(maxAcked, rev);
      for (const w of writes) acks.push({ ...w, rev });
    };

    /** After a restart: every acknowledged write is there at its revision; returns the store's revision. */
    const verify = async (client: RawClient, round: number): Promise<number> => {
      const all = await client.range({ key: PREFIX, range_end: PREFIX_END });
      const revision = Number(all.header.revision);
      assert.ok(revision >= maxAcked, `round ${round}: store at revision ${revision}, but ${maxAcked} was acknowledged ${context}`);
      const current = new Map(all.kvs.map((kv) => [kv.key.toString(), kv]));
      for (const ack of acks.filter((a) => !a.hot)) {
        const kv = current.get(ack.key);
        assert.ok(kv, `round ${round}: acknowledged ${ack.key}@${ack.rev} is missing ${context}`);
        assert.equal(Number(kv.mod_revision), ack.rev, `round ${round}: ${ack.key} mod_revision ${context}`);
        assert.equal(kv.value.toString(), ack.value, `round ${round}: ${ack.key} value ${context}`);
      }
      for (const key of unacked) current.has(key) ? unackedCommitted++ : unackedLost++;
      unacked = [];
      const hot = acks.filter((a) => a.hot);
      for (let i = 0; i < hot.length; i += 100) {
        await Promise.all(
          hot.slice(i, i + 100).map(async (ack) => {
            const r = await client.range({ key: ack.key, revision: ack.rev });
            const kv = r.kvs[0];
            assert.ok(kv, `round ${round}: ${ack.key} at revision ${ack.rev} is missing ${context}`);
            assert.equal(Number(kv.mod_revision), ack.rev, `round ${round}: ${ack.key}@${ack.rev} mod_revision ${context}`);
            assert.equal(kv.value.toString(), ack.value, `round ${round}: ${ack.key}@${ack.rev} value ${context}`);
          }),
        );
      }
      assert.deepEqual(problems, [], context);
      return revision;
    };

    for (let round = 0; round <= KILLS; round++) {
      const store = await startStoreProcess(args);
      const client = new RawClient(store.endpoint);
      try {
        const revision = await verify(client, round);
        // The first write after a restart takes the next revision: nothing acknowledged is reused.
        const probe = `probe-${round}`;
        const put = await client.put({ key: `${PREFIX}probe`, value: probe });
        assert.equal(Number(put.header.revision), revision + 1, `round ${round}: first write after restart ${context}`);
        acknowledge(`put ${PREFIX}probe=${probe}`, revision + 1, [{ key: `${PREFIX}probe`, value: probe, hot: true }]);
        if (round === KILLS) {
          assert.deepEqual(await store.kill('SIGTERM'), { code: 0, signal: null });
          break;
        }

        let killed = false;
        let inflight = 0;
        const writer = async (w: number) => {
          while (!killed) {
            const n = seq++;
            const dice = roll();
            const kind = dice < 0.5 ? 'put' : dice < 0.75 ? 'hot' : 'txn';
            const op = { kind, key: kind === 'hot' ? `${PREFIX}w${w}/hot` : `${PREFIX}w${w}/${kind}${n}` };
            const value = `v${n}`;
            inflight++;
            try {
              if (op.kind === 'txn') {
                const [a, b] = [`${op.key}/a`, `${op.key}/b`];
                const r = await client.txn({
                  compare: [{ key: a, target: CompareTarget.VERSION, result: CompareResult.EQUAL, version: 0 }],
                  success: [{ request_put: { key: a, value } }, { request_put: { key: b, value } }],
                });
                assert.ok(r.succeeded, `txn on fresh key ${a} failed its compare`);
                acknowledge(`txn ${op.key}`, Number(r.header.revision), [
                  { key: a, value, hot: false },
                  { key: b, value, hot: false },
                ]);
              } else {
                const r = await client.put({ key: op.key, value });
                acknowledge(`put ${op.key}=${value}`, Number(r.header.revision), [{ key: op.key, value, hot: op.kind === 'hot' }]);
              }
            } catch (err) {
              if (!killed) problems.push(`round ${round}: ${op.kind} ${op.key} failed before the kill: ${(err as Error).message}`);
              else if (op.kind !== 'hot') unacked.push(op.kind === 'txn' ? `${op.key}/a` : op.key);
              return;
            } finally {
              inflight--;
            }
          }
        };
        const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
        await sleep(40 + killDelay() * 400);
        killed = true;
        if (inflight > 0) killsMidWrite++;
        inflightAtKills += inflight;
        assert.deepEqual(await store.kill('SIGKILL'), { code: null, signal: 'SIGKILL' });
        await Promise.all(writers);
      } finally {
        client.close();
        await store.kill('SIGKILL');
      }
    }

    t.diagnostic(
      `${KILLS} kills (${killsMidWrite} with writes in flight, ${inflightAtKills} requests in flight in all), ` +
        `${acks.length} acknowledged writes checked, final max revision ${maxAcked}; ` +
        `unacknowledged writes found committed after restart: ${unackedCommitted}, lost: ${unackedLost} ${context}`,
    );
    assert.ok(killsMidWrite >= KILLS / 2, `only ${killsMidWrite} of ${KILLS} kills hit writes in flight ${context}`);
    assert.ok(acks.length >= KILLS * 20, `only ${acks.length} acknowledged writes: the writers barely ran ${context}`);
  });
});
