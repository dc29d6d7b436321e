// A real 3-member etcd cluster loses its raft LEADER to kill -9 while coord clients (balanced over
// all three members) run registry, lock and election load. Locks and leadership guard in-test
// fenced resources that record every write with its fencing token, so a broken lock or a split
// leadership shows up as a token going backwards, two leaders on one token, or overlapping
// holders. Recovery figures are printed as test diagnostics ("figure: …").
import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import { connect, isCoordError, type Coord, type Registration, type ServiceInstance } from '../../src/index.ts';
import { until } from '../helpers/coord-fixture.ts';
import { startEtcdCluster, type EtcdCluster, type EtcdMember } from '../helpers/etcd-cluster.ts';
import { requireEtcd } from '../helpers/etcd-process.ts';

const ELECTION_TIMEOUT_MS = 1000;
/**
 * Liveness bound on how long coord may take to resume once etcd has a new leader, counted from the
 * election the survivors report (raft draws timeouts from [t, 2t) and split votes add rounds, so
 * etcd alone takes 1–3 s here). The target is 1 s and the measured figures are printed; the test
 * allows more because a loaded CI machine adds scheduling delay, and speed is not asserted in tests.
 */
const CLIENT_RECOVERY_MS = 4000;
/**
 * Per-request deadline of the clients under test. etcd drops proposals that a follower forwarded
 * to a leader that has just died, without an answer: only the client's deadline ends such a
 * request, so it is scaled to the cluster's short raft timers (the default 5 s would dominate).
 */
const REQUEST_TIMEOUT_MS = 500;
const NS = '/cluster-test/';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const inst = (id: string): ServiceInstance => ({ id, name: 'orders', version: '1.0.0', endpoints: [`grpc://127.0.0.1:${6000 + Number(id.slice(1))}`] });

interface Write {
  who: string;
  token: number;
  at: number;
}

/**
 * A resource that trusts fencing tokens, as a storage service guarded by a lock would: it takes
 * every write, and records as a violation any write whose token is lower than one it already
 * accepted, a token used by two different writers, and (for locks) two holders inside at once.
 */
class FencedResource {
  readonly writes: Write[] = [];
  readonly violations: string[] = [];
  private highest = 0;
  private readonly owners = new Map<number, string>();
  private inside: { who: string; token: number } | undefined;

  write(who: string, token: number): void {
    if (token < this.highest) this.violations.push(`${who} wrote with token ${token} after token ${this.highest} was accepted`);
    const owner = this.owners.get(token);
    if (owner !== undefined && owner !== who) this.violations.push(`token ${token} used by both ${owner} and ${who}`);
    this.owners.set(token, who);
    this.highest = Math.max(this.highest, token);
    this.writes.push({ who, token, at: now() });
  }

  enter(who: string, token: number): void {
    if (this.inside) this.violations.push(`${who} (token ${token}) entered while ${this.inside.who} (token ${this.inside.token}) was inside`);
    this.inside = { who, token };
  }

  exit(who: string): void {
    if (this.inside?.who === who) this.inside = undefined;
  }
}

/** Successful operations of one kind, each with the moment it was started and finished. */
class Outcomes {
  readonly done: Array<{ started: number; finished: number }> = [];
  errors = 0;

  record(started: number): void {
    this.done.push({ started, finished: now() });
  }

  /** ms from `t` until the first operation STARTED after `t` succeeded, or undefined. */
  firstAfter(t: number): number | undefined {
    const first = this.done.filter((o) => o.started >= t).sort((a, b) => a.finished - b.finished)[0];
    return first && Math.round(first.finished - t);
  }
}

describe('a 3-member etcd cluster loses its leader under load', { skip: requireEtcd() }, () => {
  let cluster: EtcdCluster | undefined;
  const clients: Coord[] = [];
  const stopLoad = new AbortController();
  const loops: Promise<unknown>[] = [];
  const registrations: Registration[] = [];

  after(async () => {
    stopLoad.abort();
    await Promise.race([Promise.allSettled(loops), sleep(5000)]);
    await Promise.race([Promise.allSettled(registrations.map((r) => r.deregister())), sleep(3000)]);
    for (const c of clients) c.close();
    await cluster?.stop();
  });

  const client = (o: { requestTimeoutMs?: number; endpoints?: string[] } = {}) => {
    const c = connect({ endpoints: o.endpoints ?? cluster!.endpoints, namespace: NS, requestTimeoutMs: o.requestTimeoutMs ?? REQUEST_TIMEOUT_MS });
    clients.push(c);
    return c;
  };
  const running = () => !stopLoad.signal.aborted;

  it('registry, locks and elections resume within 1 s of the new etcd leader, with no fencing violation; the member rejoins', { timeout: 60_000 }, async (t: TestContext) => {
    const figure = (line: string) => t.diagnostic(`figure: ${line}`);
    cluster = await startEtcdCluster({ electionTimeoutMs: ELECTION_TIMEOUT_MS, heartbeatMs: 100 });
    const workers = [client(), client(), client()];
    const admin = client({ requestTimeoutMs: 5000 });

    // Registry: three instances heartbeating their metadata, one more registered during the outage.
    const regWrites = new Outcomes();
    for (const [i, c] of workers.entries()) registrations.push(await c.register(inst(`i${i + 1}`), { ttl: 5 }));
    const discovery = admin.discover('orders');
    await discovery.ready;
    for (const reg of [...registrations]) {
      loops.push(
        (async () => {
          for (let beat = 0; running(); beat++) {
            const started = now();
            // update() gives up silently when the lease is lost meanwhile: count only real writes.
            let wrote = false;
            const sub = reg.onRegistered(() => (wrote = true));
            await reg.setMetadata({ beat });
            sub.dispose();
            if (wrote) regWrites.record(started);
            await sleep(50);
          }
        })(),
      );
    }

    // Locks: three workers take turns on one lock and write to its fenced resource while holding it.
    const lockResource = new FencedResource();
    const lockTakes = new Outcomes();
    for (const [i, c] of workers.entries()) {
      const who = `worker-${i + 1}`;
      loops.push(
        (async () => {
          while (running()) {
            const started = now();
            const h = await c.lock('resource', { ttl: 5, signal: stopLoad.signal }).catch((e: unknown) => {
              if (!isCoordError(e)) throw e;
              lockTakes.errors++;
            });
            if (!h) {
              await sleep(20);
              continue;
            }
            lockTakes.record(started);
            lockResource.enter(who, h.fencingToken);
            for (let k = 0; k < 3 && !h.signal.aborted; k++) {
              lockResource.write(who, h.fencingToken);
              await sleep(10);
            }
            lockResource.exit(who);
            await h.release();
          }
        })(),
      );
    }

    // Election: three candidates; a leader confirms it still leads (a guarded proclaim in etcd)
    // before each write to the fenced resource, and resigns after a while so leadership rotates.
    const electionResource = new FencedResource();
    const leaderWrites = new Outcomes();
    const terms: Array<{ who: string; token: number; at: number }> = [];
    for (const [i, c] of workers.entries()) {
      const who = `candidate-${i + 1}`;
      loops.push(
        (async () => {
          while (running()) {
            const l = await c.campaign('primary', who, { ttl: 5, signal: stopLoad.signal }).catch((e: unknown) => {
              if (!isCoordError(e)) throw e;
            });
            if (!l) {
              await sleep(20);
              continue;
            }
            terms.push({ who, token: l.fencingToken, at: now() });
            for (let n = 0; n < 10 && running() && !l.signal.aborted; ) {
              const started = now();
              try {
                await l.proclaim(`${who}:${n}`);
              } catch (e) {
                if (isCoordError(e, 'not-leader')) break;
                await sleep(20);
                continue;
              }
              electionResource.write(who, l.fencingToken);
              leaderWrites.record(started);
              n++;
              await sleep(30);
            }
            await l.resign();
          }
        })(),
      );
    }

    await sleep(2000);
    assert.ok(lockTakes.done.length > 0 && leaderWrites.done.length > 0 && regWrites.done.length > 0, 'the load is running before the kill');

    // Kill the raft leader, and watch the survivors for the new one.
    const leader = await cluster.leader();
    const survivors = cluster.members.filter((m) => m !== leader);
    const killedAt = now();
    await cluster.kill(leader);
    // Each survivor is polled on its own: the first to name a new leader ends the wait.
    const elected = Promise.any(
      survivors.map(async (m) => {
        while (now() - killedAt < 10_000) {
          const s = await m.status(200).catch(() => undefined);
          if (s && s.leader !== '0' && s.leader !== leader.id) return Math.round(now() - killedAt);
          await sleep(10);
        }
        throw new Error(`${m.name} named no new leader within 10 s`);
      }),
    );
    const lateRegistration = workers[0].register(inst('i4'), { ttl: 5 }).then((r) => (registrations.push(r), now()));
    lateRegistration.catch(() => {}); // awaited below; a failure surfaces there

    const electedMs = await elected;
    const bound = electedMs + CLIENT_RECOVERY_MS;
    await until(
      () => lockTakes.firstAfter(killedAt) !== undefined && leaderWrites.firstAfter(killedAt) !== undefined && regWrites.firstAfter(killedAt) !== undefined,
      10_000,
      'locks, leader writes and registry writes after the kill',
    );
    const lateRegisteredMs = Math.round((await Promise.race([lateRegistration, sleep(10_000).then(() => NaN)])) - killedAt);
    const recovery = {
      lock: lockTakes.firstAfter(killedAt)!,
      leaderWrite: leaderWrites.firstAfter(killedAt)!,
      registryWrite: regWrites.firstAfter(killedAt)!,
    };
    figure(
      `killed leader ${leader.name}; survivors elected a new leader after ${electedMs} ms; first success after the kill: ` +
        `lock ${recovery.lock} ms, leader write ${recovery.leaderWrite} ms, registry write ${recovery.registryWrite} ms, new registration ${lateRegisteredMs} ms`,
    );
    // Registration waits out its lease-grant backoff (up to seconds after repeated failures), so it is only required to happen.
    assert.ok(lateRegisteredMs <= 10_000, 'the registration made during the outage completed');
    for (const [what, ms] of Object.entries(recovery)) {
      assert.ok(ms <= bound, `${what} resumed ${ms} ms after the kill; bound ${bound} ms (new leader at ${electedMs} ms + ${CLIENT_RECOVERY_MS} ms)`);
    }

    // Keep the load running on two members for a while, then stop it and check the records.
    await sleep(1500);
    stopLoad.abort();
    const settled = await Promise.race([Promise.allSettled(loops), sleep(8000).then(() => undefined)]);
    assert.ok(settled, 'the load loops stopped within 8 s');
    assert.deepEqual(settled.filter((s) => s.status === 'rejected'), [], 'no load loop failed with an unexpected error');
    figure(
      `load: ${lockTakes.done.length} lock acquisitions (${lockTakes.errors} failed attempts), ${terms.length} leadership terms, ` +
        `${leaderWrites.done.length} leader writes, ${regWrites.done.length} registry writes`,
    );
    assert.deepEqual(lockResource.violations, [], 'the lock resource saw no fencing violation or overlapping holders');
    assert.deepEqual(electionResource.violations, [], 'the election resource saw no stale token and no token shared by two leaders');
    const termTokens = terms.map((x) => x.token);
    assert.deepEqual(termTokens, [...termTokens].sort((a, b) => a - b), 'successive leaders had increasing fencing tokens');
    assert.equal(new Set(termTokens).size, termTokens.length, 'every term had its own token');
    assert.ok(lockResource.writes.some((w) => w.at > killedAt) && electionResource.writes.some((w) => w.at > killedAt), 'both resources took writes after the kill');

    // Every registration is listed with its latest data, and discovery shows exactly that.
    const expected = ['i1', 'i2', 'i3', 'i4'];
    const stored = await admin.instances('orders');
    assert.deepEqual(stored.map((i) => i.id).sort(), expected, 'all registrations are present');
    for (const reg of registrations) {
      assert.deepEqual(stored.find((i) => i.id === reg.current.id), { ...reg.current, status: 'serving' }, `${reg.current.id} holds its latest metadata`);
    }
    await until(
      () => {
        const s = discovery.snapshot();
        const byId = (list: ServiceInstance[]) => JSON.stringify([...list].sort((a, b) => a.id.localeCompare(b.id)));
        return !s.stale && byId(s.instances) === byId(stored);
      },
      5000,
      'discovery to converge on the stored instances',
    );

    // The killed member comes back on its data dir, rejoins and catches up.
    const restartedAt = now();
    await cluster.restart(leader);
    const rejoined = await rejoin(cluster, leader);
    figure(`restarted ${leader.name}: serving linearizable reads after ${Math.round(rejoined - restartedAt)} ms`);
    const direct = client({ endpoints: [leader.endpoint], requestTimeoutMs: 5000 });
    assert.deepEqual((await direct.instances('orders')).map((i) => i.id).sort(), expected, 'the restarted member serves the registry');
  });
});

/** Waits until every member, the restarted one included, follows one leader at the same raft index. */
async function rejoin(cluster: EtcdCluster, member: EtcdMember): Promise<number> {
  const leader = await cluster.leader(10_000);
  await until(
    async () => {
      const [mine, theirs] = await Promise.all([member.status(), leader.status()]).catch(() => []);
      return !!mine && !!theirs && mine.leader === leader.id && mine.raftIndex >= theirs.raftIndex - 5;
    },
    10_000,
    `${member.name} to catch up with the leader`,
  );
  return now();
}
