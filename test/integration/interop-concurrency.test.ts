// coord's lock and election contend with the real `etcdctl lock` / `etcdctl elect` (etcd's Go
// concurrency package) in both directions, against a real etcd and against coord store, with the
// same assertions: whoever holds the seat first, the other side waits, and takes it only once the
// first lets go. etcdctl runs as a child process, stopped by pid.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Coord } from '../../src/index.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';
import { coordOn, until } from '../helpers/coord-fixture.ts';
import { Etcdctl, requireEtcdctl } from '../helpers/etcdctl.ts';

/** How long a waiter must stay blocked to count as blocked. */
const BLOCKED_MS = 400;

const now = () => performance.now();

/** Resolves with the value and when it arrived; rejects if `p` takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<{ value: T; at: number }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p.then((value) => ({ value, at: now() })), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** True if `p` is still pending after `ms`. */
async function pendingAfter(p: Promise<unknown>, ms: number): Promise<boolean> {
  const marker = Symbol('pending');
  const r = await Promise.race([p.then(() => undefined, () => undefined), new Promise((r) => setTimeout(() => r(marker), ms))]);
  return r === marker;
}

for (const backend of backends()) {
  describe(`coord and etcdctl contend for locks and elections on ${backend.name}`, { skip: backend.skip ?? requireEtcdctl() }, () => {
    const f = useBackend(backend);
    const clients: Coord[] = [];
    let ctl: Etcdctl | undefined;
    const cleanups: Array<() => Promise<unknown>> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
      await ctl?.killAll();
      for (const c of clients.splice(0)) c.close();
    });

    function setup(name: string) {
      const { make } = coordOn(f, name, clients);
      ctl ??= new Etcdctl(f.endpoint);
      const coord = make();
      /** Keys queued under a lock or election prefix, oldest first. */
      const queue = async (prefix: string) =>
        (await coord.etcd.range(`${prefix}/`, { prefix: true, sort: { target: 'create', order: 'ascend' } })).kvs.map((kv) => ({ key: kv.key, value: kv.value.toString(), rev: kv.createRevision }));
      const queued = (prefix: string, n: number) => until(async () => (await queue(prefix)).length === n, 5000, `${n} contenders under ${prefix}/`);
      return { coord, ctl, queue, queued };
    }

    it('etcdctl lock holds the lock: coord.lock() blocks until the etcdctl process exits', async () => {
      const { coord, ctl, queue, queued } = setup('ctl-holds-lock');
      const prefix = coord.lockPrefix('job');
      const holder = ctl.start(['lock', prefix]);
      const printed = await holder.printed((o) => o.endsWith('\n\n'));
      const [held] = await queue(prefix);
      assert.equal(printed, `${held.key}\n\n`, 'etcdctl holds the lock under the coord lock prefix');

      const taking = coord.lock('job', { ttl: 5 });
      await queued(prefix, 2);
      assert.ok(await pendingAfter(taking, BLOCKED_MS), 'coord.lock() waits while etcdctl holds the lock');

      const stoppedAt = now();
      assert.deepEqual(await holder.stop('SIGTERM'), { code: 0, signal: null });
      const { value: lock, at } = await within(taking, 5000, 'coord.lock() after etcdctl exited');
      cleanups.push(() => lock.release());
      assert.ok(at >= stoppedAt, 'coord got the lock only after etcdctl was stopped');
      assert.ok(lock.fencingToken > held.rev, 'the fencing token moved past etcdctl’s');
      assert.deepEqual((await queue(prefix)).map((q) => q.key), [lock.key], 'etcdctl released its key on exit');
    });

    it('coord holds the lock: etcdctl lock -- CMD runs CMD only after coord releases', async () => {
      const { coord, ctl, queue, queued } = setup('coord-holds-lock');
      const prefix = coord.lockPrefix('job');
      const lock = await coord.lock('job', { ttl: 5 });
      cleanups.push(() => lock.release());
      const exec = ctl.start(['lock', prefix, '--', 'sh', '-c', 'echo "ran with $ETCD_LOCK_KEY"']);
      await queued(prefix, 2);
      const [, waiting] = await queue(prefix);
      assert.ok(await pendingAfter(exec.exited, BLOCKED_MS), 'etcdctl lock waits while coord holds the lock');
      assert.equal(exec.stdout, '', 'the command did not run while coord held the lock');

      await lock.release();
      assert.deepEqual(await exec.exit(5000), { code: 0, signal: null });
      assert.equal(exec.stdout, `ran with ${waiting.key}\n`, 'the command ran holding etcdctl’s own queue entry');
      assert.deepEqual(await queue(prefix), [], 'both sides released their keys');
    });

    it('etcdctl elect leads: coord.leader() sees it; coord campaigns and wins once etcdctl is stopped', async () => {
      const { coord, ctl, queue, queued } = setup('ctl-leads');
      const prefix = coord.electionPrefix('primary');
      const elected = ctl.start(['elect', prefix, 'etcdctl-node']);
      const printed = await elected.printed((o) => o.endsWith('etcdctl-node\n'));
      const leader = await coord.leader('primary');
      assert.ok(leader, 'coord sees a leader');
      assert.equal(printed, `${leader.key}\netcdctl-node\n`);
      assert.equal(leader.value.toString(), 'etcdctl-node');

      const campaigning = coord.campaign('primary', 'coord-node', { ttl: 5 });
      await queued(prefix, 2);
      assert.ok(await pendingAfter(campaigning, BLOCKED_MS), 'coord waits while etcdctl leads');
      assert.equal((await coord.leader('primary'))?.value.toString(), 'etcdctl-node');

      const stoppedAt = now();
      assert.deepEqual(await elected.stop('SIGTERM'), { code: 0, signal: null });
      const { value: leadership, at } = await within(campaigning, 5000, 'coord winning the election');
      cleanups.push(() => leadership.resign());
      assert.ok(at >= stoppedAt, 'coord won only after etcdctl was stopped');
      assert.ok(leadership.fencingToken > leader.revision, 'the new leader’s token is higher');
      const current = await coord.leader('primary');
      assert.deepEqual([current?.key, current?.value.toString()], [leadership.key, 'coord-node']);
      assert.deepEqual((await queue(prefix)).map((q) => q.value), ['coord-node'], 'etcdctl resigned on exit');
    });

    it('coord leads: etcdctl elect -l prints coord’s value; an etcdctl campaign waits until coord resigns', async () => {
      const { coord, ctl, queue, queued } = setup('coord-leads');
      const prefix = coord.electionPrefix('primary');
      const leadership = await coord.campaign('primary', 'coord-node', { ttl: 5 });
      cleanups.push(() => leadership.resign());
      const observer = ctl.start(['elect', '-l', prefix]);
      assert.equal(await observer.printed((o) => o.endsWith('coord-node\n')), `${leadership.key}\ncoord-node\n`);
      await leadership.proclaim('coord-node v2');
      assert.equal(await observer.printed((o) => o.endsWith('coord-node v2\n')), `${leadership.key}\ncoord-node\n${leadership.key}\ncoord-node v2\n`, 'the observer follows proclaimed values');

      const candidate = ctl.start(['elect', prefix, 'etcdctl-node']);
      await queued(prefix, 2);
      const [, waiting] = await queue(prefix);
      assert.ok(await pendingAfter(candidate.exited, BLOCKED_MS), 'etcdctl elect is still running');
      assert.equal(candidate.stdout, '', 'etcdctl elect waits while coord leads');

      await leadership.resign();
      assert.equal(await candidate.printed((o) => o.endsWith('etcdctl-node\n'), 5000), `${waiting.key}\netcdctl-node\n`, 'etcdctl leads once coord resigned');
      assert.equal((await coord.leader('primary'))?.value.toString(), 'etcdctl-node');
      assert.ok((await observer.printed((o) => o.endsWith('etcdctl-node\n'), 5000)).endsWith(`${waiting.key}\netcdctl-node\n`), 'the observer saw the handover');
    });
  });
}
