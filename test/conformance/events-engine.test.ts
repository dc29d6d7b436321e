// One suite, every events engine, the same assertions: NATS JetStream (a real nats-server -js), and
// the embedded engine over real etcd and over coord store.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type Coord } from '../../src/coord.ts';
import { isCoordError } from '../../src/core/errors.ts';
import { etcdEngine } from '../../src/events/engine-etcd.ts';
import { natsEngine } from '../../src/events/engine-nats.ts';
import type { Delivery, EventEngine, EventRecord } from '../../src/events/event.ts';
import { backends } from '../helpers/backends.ts';
import { requireNats, startNats } from '../helpers/nats-process.ts';
import { until } from '../helpers/events-scenario.ts';

interface EngineUnderTest {
  name: string;
  skip: string | undefined;
  start(): Promise<{ engine: EventEngine; stop(): Promise<void> }>;
}

function engines(): EngineUnderTest[] {
  return [
    {
      name: 'nats-jetstream',
      skip: requireNats(),
      async start() {
        const nats = await startNats();
        const engine = await natsEngine({ servers: nats.endpoint });
        return { engine, stop: async () => (await engine.close(), await nats.stop()) };
      },
    },
    ...backends().map((b) => ({
      name: `etcd engine on ${b.name}`,
      skip: b.skip,
      async start() {
        const server = await b.start();
        const coord: Coord = connect({ endpoints: server.endpoint });
        const engine = etcdEngine(coord);
        return { engine, stop: async () => (await engine.close(), await coord.close(), await server.stop()) };
      },
    })),
  ];
}

let n = 0;
const topic = () => `t${++n}-${process.pid}`;
const event = (t: string, i: number, key = 'k'): EventRecord => ({ id: `${t}-e${i}`, topic: t, type: 'Happened', key, data: { i }, time: new Date().toISOString() });


for (const e of engines()) {
  describe(e.name, { skip: e.skip }, () => {
    let engine: EventEngine;
    let stop: () => Promise<void>;
    before(async () => ({ engine, stop } = await e.start()));
    after(() => stop?.());

    test('every group gets every event once, in publication order; groups are independent', async () => {
      const t = topic();
      await engine.publish([1, 2, 3].map((i) => event(t, i)));
      const seen: Record<string, number[]> = { a: [], b: [] };
      const subs = ['a', 'b'].map((g) => engine.subscribe<{ i: number }>(t, g, async (d) => void seen[g].push(d.data.i)));
      await engine.publish([4, 5].map((i) => event(t, i)));
      await until('both groups saw 5 events', () => seen.a.length >= 5 && seen.b.length >= 5);
      await Promise.all(subs.map((s) => s.close()));
      assert.deepEqual(seen, { a: [1, 2, 3, 4, 5], b: [1, 2, 3, 4, 5] });
    });

    test('a second publish of an id is dropped', async () => {
      const t = topic();
      await engine.publish([event(t, 1), event(t, 2)]);
      await engine.publish([event(t, 1), event(t, 3)]);
      const seen: string[] = [];
      const sub = engine.subscribe(t, 'g', async (d) => void seen.push(d.id));
      await until('3 events', () => seen.length >= 3);
      await sub.close();
      assert.deepEqual(seen, [`${t}-e1`, `${t}-e2`, `${t}-e3`]);
      assert.equal((await engine.stats(t)).events, 3);
    });

    test('a failed delivery comes again (attempt 2) before the events after it', async () => {
      const t = topic();
      const seen: string[] = [];
      const sub = engine.subscribe(t, 'g', async (d: Delivery) => {
        seen.push(`${d.id}#${d.attempt}`);
        if (d.id.endsWith('e1') && d.attempt === 1) throw new Error('not yet');
      }, { retryDelayMs: 50 });
      await sub.ready;
      await engine.publish([event(t, 1), event(t, 2)]);
      await until('e2 handled', () => seen.includes(`${t}-e2#1`));
      await sub.close();
      assert.deepEqual(seen, [`${t}-e1#1`, `${t}-e1#2`, `${t}-e2#1`]);
    });

    test('an event that keeps failing becomes a dead letter of its group; re-drive delivers it to that group only', async () => {
      const t = topic();
      let broken = true;
      const seen: Record<string, string[]> = { pay: [], mail: [] };
      const pay = engine.subscribe(t, 'pay', async (d) => {
        if (broken && d.id.endsWith('e1')) throw new Error('card declined');
        seen.pay.push(d.id);
      }, { maxAttempts: 2, retryDelayMs: 20 });
      const mail = engine.subscribe(t, 'mail', async (d) => void seen.mail.push(d.id));
      await Promise.all([pay.ready, mail.ready]);
      await engine.publish([event(t, 1), event(t, 2)]);
      await until('pay moved past the dead letter', () => seen.pay.includes(`${t}-e2`) && seen.mail.length === 2);
      const dead = await engine.deadLetters(t, 'pay');
      assert.deepEqual(dead.map((d) => [d.group, d.event.id, d.attempts, d.error]), [['pay', `${t}-e1`, 2, 'card declined']]);
      assert.deepEqual(await engine.deadLetters(t, 'mail'), []);
      const stats = await engine.stats(t);
      assert.equal(stats.groups.find((g) => g.group === 'pay')?.deadLetters, 1);

      broken = false;
      await engine.redrive(t, 'pay', `${t}-e1`);
      await until('the re-driven event handled', () => seen.pay.includes(`${t}-e1`));
      await until('the dead letter gone', async () => (await engine.deadLetters(t, 'pay')).length === 0);
      await Promise.all([pay.close(), mail.close()]);
      assert.deepEqual(seen.mail, [`${t}-e1`, `${t}-e2`], 'the other group is not sent the re-drive');
      assert.deepEqual((await engine.tail(t, 10)).map((e) => e.id), [`${t}-e1`, `${t}-e2`], 'a re-drive is not a new event in the tail');
      await assert.rejects(engine.redrive(t, 'pay', 'nope'), (err) => isCoordError(err, 'not-found'));
    });

    test('a re-drive right after the dead letter is delivered without waiting for another event (20 rounds)', async () => {
      // A consumer that has just given up on an event reads the re-drives, then the log; a re-drive
      // written between those two reads must still wake it (it once waited for the next event).
      const t = topic();
      const attempts = new Map<string, number>();
      const sub = engine.subscribe(t, 'g', async (d) => {
        attempts.set(d.id, (attempts.get(d.id) ?? 0) + 1);
        throw new Error('not yet');
      }, { maxAttempts: 1, retryDelayMs: 10 });
      await sub.ready;
      try {
        for (let round = 0; round < 20; round++) {
          const ev = event(t, round);
          await engine.publish([ev]);
          await until(`round ${round}: the dead letter`, async () => (await engine.deadLetters(t, 'g')).some((d) => d.event.id === ev.id));
          await engine.redrive(t, 'g', ev.id);
          await until(`round ${round}: the re-driven event delivered`, () => attempts.get(ev.id) === 2, 15_000);
        }
      } finally {
        await sub.close();
      }
    });

    test('a group resumes after its last handled event when its consumer comes back; pending counts what it has not handled', async () => {
      const t = topic();
      const seen: string[] = [];
      let sub = engine.subscribe(t, 'g', async (d) => void seen.push(d.id));
      await sub.ready;
      await engine.publish([event(t, 1), event(t, 2)]);
      await until('2 events', () => seen.length >= 2);
      await sub.close();
      await engine.publish([event(t, 3), event(t, 4)]);
      await until('pending 2', async () => (await engine.stats(t)).groups.find((g) => g.group === 'g')?.pending === 2);
      sub = engine.subscribe(t, 'g', async (d) => void seen.push(d.id));
      await until('4 events', () => seen.length >= 4);
      await sub.close();
      assert.deepEqual(seen, [1, 2, 3, 4].map((i) => `${t}-e${i}`));
    });

    test('two consumers in one group: each event is handled once', async () => {
      const t = topic();
      const seen: string[] = [];
      const subs = [1, 2].map(() => engine.subscribe(t, 'g', async (d) => void seen.push(d.id)));
      await engine.publish(Array.from({ length: 20 }, (_, i) => event(t, i + 1, `k${i % 3}`)));
      await until('20 events', () => seen.length >= 20);
      await Promise.all(subs.map((s) => s.close()));
      assert.deepEqual([...seen].sort(), Array.from({ length: 20 }, (_, i) => `${t}-e${i + 1}`).sort());
    });

    test('topics() lists the topics with events; tail() gives the newest events, newest last; reading an unknown topic creates nothing', async () => {
      const [a, b, unknown] = [topic(), topic(), topic()];
      const published = [1, 2, 3, 4].map((i) => event(a, i));
      await engine.publish(published);
      await engine.publish([event(b, 1)]);
      assert.deepEqual(await engine.tail(a, 2), published.slice(2));
      assert.deepEqual((await engine.tail(a, 10)).map((e) => e.id), [1, 2, 3, 4].map((i) => `${a}-e${i}`));
      assert.deepEqual(await engine.tail(unknown, 5), []);
      assert.deepEqual(await engine.stats(unknown), { topic: unknown, events: 0, groups: [] });
      assert.deepEqual(await engine.deadLetters(unknown), []);
      const topics = await engine.topics();
      assert.deepEqual(topics, [...topics].sort(), 'sorted');
      assert.ok(topics.includes(a) && topics.includes(b), `${a} and ${b} in ${topics.join(',')}`);
      assert.ok(!topics.includes(unknown), 'reading a topic does not create it');
      await assert.rejects(engine.tail(a, 0), (err) => isCoordError(err, 'invalid-argument'));
    });

    test('bad names and events are refused with invalid-argument', async () => {
      await assert.rejects(engine.publish([{ ...event('outbox', 1) }]), (err) => isCoordError(err, 'invalid-argument') && /reserved/.test((err as Error).message));
      await assert.rejects(engine.publish([{ ...event('Orders', 1) }]), (err) => isCoordError(err, 'invalid-argument') && /topic "Orders"/.test((err as Error).message));
      await assert.rejects(engine.publish([{ ...event('orders', 1), id: '' }]), (err) => isCoordError(err, 'invalid-argument'));
      assert.throws(() => engine.subscribe('orders', 'a.b', async () => {}), (err) => isCoordError(err, 'invalid-argument') && /group "a.b"/.test((err as Error).message));
    });
  });
}
