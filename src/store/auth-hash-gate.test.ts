import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { HashGate, peerKey } from './auth-hash-gate.ts';

/** A hash that finishes when the test says so. */
function controlled() {
  let release!: () => void;
  let fail!: (e: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    release = resolve;
    fail = reject;
  });
  let started = false;
  return {
    hash: () => ((started = true), done),
    release: () => release(),
    fail: (e: Error) => fail(e),
    get started() {
      return started;
    },
  };
}
const tick = () => new Promise((r) => setImmediate(r));
const refusal = async (p: Promise<unknown>) => {
  const e = (await p.then(
    () => assert.fail('expected a refusal'),
    (err: unknown) => err,
  )) as { code: number; message: string };
  return { code: e.code, message: e.message };
};
const TOO_MANY = { code: status.RESOURCE_EXHAUSTED, message: 'etcdserver: too many requests' };

describe('HashGate', () => {
  it('runs one hash at a time, the others in arrival order, across peers and admin calls', async () => {
    const gate = new HashGate();
    const hashes = [controlled(), controlled(), controlled()];
    const order: Array<number | string> = [];
    const runs = [gate.run('10.0.0.1:1', hashes[0].hash), gate.run(undefined, hashes[1].hash), gate.run('10.0.0.2:1', hashes[2].hash)].map((p, i) =>
      p.then(
        () => order.push(i),
        (e: Error) => order.push(e.message),
      ),
    );
    await tick();
    assert.deepEqual(hashes.map((h) => h.started), [true, false, false]);
    assert.deepEqual(gate.load, { running: 1, waiting: 2 });
    hashes[0].release();
    await tick();
    assert.deepEqual(hashes.map((h) => h.started), [true, true, false]);
    hashes[1].fail(new Error('scrypt failed')); // a failed hash frees its slot too
    await tick();
    assert.equal(hashes[2].started, true);
    hashes[2].release();
    await Promise.all(runs);
    assert.deepEqual(order, [0, 'scrypt failed', 2]);
    assert.deepEqual(gate.load, { running: 0, waiting: 0 });
  });

  it('serves waiting peers in turn, so a flooding peer delays another by one hash, not by its queue', async () => {
    const gate = new HashGate();
    const order: string[] = [];
    const first = controlled();
    const run = (peer: string, name: string) => gate.run(peer, async () => void order.push(name));
    const runs = [gate.run('10.0.0.1:1', first.hash), run('10.0.0.1:2', 'a2'), run('10.0.0.1:3', 'a3'), run('10.0.0.1:4', 'a4'), run('10.0.0.2:1', 'b1'), run('10.0.0.2:2', 'b2')];
    first.release();
    await Promise.all(runs);
    assert.deepEqual(order, ['a2', 'b1', 'a3', 'b2', 'a4']);
  });

  it('refuses a peer over its limit at once, without touching the others; its slots come back', async () => {
    const gate = new HashGate({ perPeer: 2 });
    const a = [controlled(), controlled()];
    const runs = a.map((h) => gate.run('10.0.0.1:5000', h.hash));
    assert.deepEqual(await refusal(gate.run('10.0.0.1:5001', async () => {})), TOO_MANY, 'another connection of the same host');
    const other = gate.run('10.0.0.2:5000', async () => 'b');
    const admin = gate.run(undefined, async () => 'admin');
    a.forEach((h) => h.release());
    await Promise.all(runs);
    assert.equal(await other, 'b');
    assert.equal(await admin, 'admin');
    assert.equal(await gate.run('10.0.0.1:5002', async () => 'again'), 'again');
  });

  it('refuses every peer once the queue is full; admin calls still wait their turn', async () => {
    const gate = new HashGate({ maxWaiting: 2 });
    const first = controlled();
    const runs = [gate.run('10.0.0.1:1', first.hash), gate.run('10.0.0.2:1', async () => {}), gate.run('10.0.0.3:1', async () => {})];
    assert.deepEqual(await refusal(gate.run('10.0.0.4:1', async () => {})), TOO_MANY);
    const admin = gate.run(undefined, async () => 'admin');
    first.release();
    await Promise.all(runs);
    assert.equal(await admin, 'admin');
  });

  it('rejects bad options with a clear error', () => {
    assert.throws(() => new HashGate({ concurrency: 0 }), /concurrency must be a positive integer, got 0/);
    assert.throws(() => new HashGate({ perPeer: 1.5 }), /perPeer must be a positive integer/);
  });
});

describe('peerKey', () => {
  it('is the address without the port; IPv4-mapped as IPv4; IPv6 by its /64', () => {
    assert.equal(peerKey('127.0.0.1:54321'), '127.0.0.1');
    assert.equal(peerKey('::ffff:127.0.0.1:54321'), '127.0.0.1');
    assert.equal(peerKey('::1:54321'), '0:0:0:0::/64');
    assert.equal(peerKey('[::1]:54321'), '0:0:0:0::/64');
    assert.equal(peerKey('2001:db8:1:2:aaaa::5:443'), '2001:db8:1:2::/64');
    assert.equal(peerKey('2001:db8:1:2:bbbb:1:2:3:443'), '2001:db8:1:2::/64', 'same /64, same peer');
    assert.equal(peerKey('2001:db8:0001:3::1:443'), '2001:db8:1:3::/64');
    assert.equal(peerKey('::1'), '0:0:0:0::/64', 'no port');
    assert.equal(peerKey('unknown'), 'unknown');
  });
});
