// `coord events …` as a real process against what the services left in the engine: the embedded
// engine on coord store (its own process) and on a real etcd, and NATS JetStream (a real
// nats-server -js) announced in a real etcd. Exact stdout, stderr and exit codes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type Coord } from '../../src/coord.ts';
import { announceEngine } from '../../src/events/announce.ts';
import { etcdEngine } from '../../src/events/engine-etcd.ts';
import { natsEngine } from '../../src/events/engine-nats.ts';
import type { EventEngine, EventRecord } from '../../src/events/event.ts';
import { killAllCli, runCli, type CliResult } from '../helpers/cli-process.ts';
import { requireEtcd, startEtcd } from '../helpers/etcd-process.ts';
import { requireNats, startNats } from '../helpers/nats-process.ts';
import { startStoreProcess } from '../helpers/store-process.ts';
import { groupsWithLag, until, waitingRelay } from '../helpers/events-scenario.ts';

interface Setup {
  name: string;
  skip: string | undefined;
  start(): Promise<{ endpoint: string; engine(coord: Coord): Promise<EventEngine>; describe: string; stop(): Promise<void> }>;
}

const setups: Setup[] = [
  {
    name: 'the etcd engine on coord store',
    skip: undefined,
    async start() {
      const store = await startStoreProcess(['--memory', '--listen', '127.0.0.1:0']);
      return { endpoint: store.endpoint, engine: async (c) => etcdEngine(c), describe: 'etcd', stop: async () => void (await store.kill('SIGKILL')) };
    },
  },
  {
    name: 'the etcd engine on etcd',
    skip: requireEtcd(),
    async start() {
      const etcd = await startEtcd();
      return { endpoint: etcd.endpoint, engine: async (c) => etcdEngine(c), describe: 'etcd', stop: () => etcd.stop() };
    },
  },
  {
    name: 'NATS JetStream announced in etcd',
    skip: requireEtcd() ?? requireNats(),
    async start() {
      const [etcd, nats] = await Promise.all([startEtcd(), startNats()]);
      return {
        endpoint: etcd.endpoint,
        engine: () => natsEngine({ servers: nats.endpoint }),
        describe: `nats-jetstream (${nats.endpoint})`,
        stop: async () => void (await Promise.all([etcd.stop(), nats.stop()])),
      };
    },
  },
];

const TIME = '2026-01-02T03:04:05.000Z';
const order = (i: number): EventRecord => ({ id: `o-${i}`, topic: 'orders', type: 'OrderCreated', key: `o-${i}`, data: { n: i }, time: TIME });


function ok(r: CliResult): string {
  assert.equal(r.stderr, '', `stderr of a successful command:\n${r.stderr}`);
  assert.equal(r.code, 0, `exit code (stdout: ${r.stdout})`);
  return r.stdout;
}

for (const setup of setups) {
  describe(`coord events with ${setup.name}`, { skip: setup.skip }, () => {
    let env: Awaited<ReturnType<Setup['start']>>;
    const closers: Array<() => Promise<unknown>> = [];
    before(async () => (env = await setup.start()));
    after(async () => {
      await killAllCli();
      for (const c of closers.reverse()) await c();
      await env?.stop();
    });
    const coord = (ns: string) => (...args: string[]) => runCli([...args, '--endpoints', env.endpoint, '--namespace', ns]);

    it('nothing announced: one line naming the key and how to announce, exit 1', async () => {
      const r = await coord('/cli-events-none/')('events', 'topics');
      assert.deepEqual(r, {
        code: 1,
        signal: null,
        stdout: '',
        stderr: 'coord: no events engine is announced at /cli-events-none/events/engine: the services announce theirs with announceEngine(coord, engine) from etcd-coord/events (or give the NATS servers: coord events --nats host:port)\n',
      });
    });

    it('topics, stats (lag per group, outbox backlog), tail, dead letters and re-drive', async () => {
      const ns = '/cli-events/';
      const run = coord(ns);
      const lib = connect({ endpoints: env.endpoint, namespace: ns });
      closers.push(() => lib.close());
      const engine = await env.engine(lib);
      closers.push(() => engine.close());
      await announceEngine(lib, engine);

      await engine.publish([{ id: 'n-1', topic: 'notifications', type: 'NotificationSent', key: 'o-1', data: { to: 'ana' }, time: TIME }]);
      const seen = await groupsWithLag(engine, order);

      // An outbox relay waiting behind another instance: its report shows the backlog.
      const {
        reports: [report],
      } = await waitingRelay(lib, engine, ['o-9', 'o-10'], closers);
      assert.ok(!('malformed' in report));
      const [dead] = await engine.deadLetters('orders', 'pay');

      const [topics, stats, statsJson, tail, tailJson, deadLetters, mailDead] = await Promise.all([
        run('events', 'topics'),
        run('events', 'stats'),
        run('events', 'stats', 'orders', '--json'),
        run('events', 'tail', 'orders', '-n', '2'),
        run('events', 'tail', 'notifications', '--json'),
        run('events', 'dead-letters'),
        run('events', 'dead-letters', 'orders', '--group', 'mail'),
      ]);
      assert.equal(ok(topics), 'notifications\norders\n');
      const age = `${report.oldestAgeSeconds.toFixed(1)}s`;
      assert.equal(
        ok(stats),
        [
          `engine: ${env.describe}`,
          'TOPIC          EVENTS  GROUP  PENDING  DEAD LETTERS',
          'notifications  1       -      -        -',
          'orders         4       mail   1        0',
          'orders         4       pay    1        1',
          '',
          'OUTBOX  INSTANCE  LEADER  BACKLOG  OLDEST AGE  SENT  ERRORS  UPDATED',
          `shop    shop-a    no      2        ${age.padEnd(10)}  0     0       ${report.updated}`,
          '',
        ].join('\n'),
      );
      assert.deepEqual(JSON.parse(ok(statsJson)), { engine: engine.name, topics: [await engine.stats('orders')], outboxes: [report] });
      assert.equal(
        ok(tail),
        [
          'TIME                      TYPE          KEY  ID   DATA',
          `${TIME}  OrderCreated  o-3  o-3  {"n":3}`,
          `${TIME}  OrderCreated  o-4  o-4  {"n":4}`,
          '',
        ].join('\n'),
      );
      assert.equal(ok(tailJson), '{"id":"n-1","topic":"notifications","type":"NotificationSent","key":"o-1","data":{"to":"ana"},"time":"2026-01-02T03:04:05.000Z"}\n');
      assert.equal(
        ok(deadLetters),
        [
          'TOPIC   GROUP  ID   TYPE          ATTEMPTS  FAILED AT                 ERROR',
          `orders  pay    o-2  OrderCreated  1         ${dead.time}  card declined`,
          '',
        ].join('\n'),
      );
      assert.equal(ok(mailDead), 'no dead letters\n');

      assert.equal(ok(await run('events', 'redrive', 'orders', 'pay', 'o-2')), 're-driven: event o-2 goes to orders/pay again\n');
      const again = engine.subscribe('orders', 'pay', async (d) => void seen.pay.push(d.id));
      await until('the re-driven and the pending event handled', () => seen.pay.includes('o-2') && seen.pay.includes('o-4'));
      await again.close();
      assert.deepEqual([...seen.pay].sort(), ['o-1', 'o-2', 'o-3', 'o-4'], 'pay handled every event once');
      assert.equal(ok(await run('events', 'dead-letters', 'orders')), 'no dead letters\n');
      assert.deepEqual(await run('events', 'redrive', 'orders', 'pay', 'o-2'), { code: 1, signal: null, stdout: '', stderr: 'coord: no dead letter o-2 for orders/pay\n' });
    });

    it('usage mistakes exit 2 with one line', async () => {
      const ns = '/cli-events-usage/';
      const lib = connect({ endpoints: env.endpoint, namespace: ns });
      closers.push(() => lib.close());
      const engine = await env.engine(lib);
      closers.push(() => engine.close());
      await announceEngine(lib, engine);
      const run = coord(ns);
      const [badTopic, badN] = await Promise.all([run('events', 'tail', 'Orders'), run('events', 'tail', 'orders', '-n', '0')]);
      assert.deepEqual(badTopic, { code: 2, signal: null, stdout: '', stderr: `coord: topic "Orders": use lower-case letters, digits, '-' and '_' (at most 63, starting with a letter or digit)\n` });
      assert.deepEqual(badN, { code: 2, signal: null, stdout: '', stderr: 'coord: -n must be from 1 to 1000, got 0\n' });
    });
  });
}

describe('coord events --nats', { skip: requireEtcd() ?? requireNats() }, () => {
  it('opens NATS without an announcement; an unreachable NATS is one line, exit 1', async () => {
    const [etcd, nats] = await Promise.all([startEtcd(), startNats()]);
    try {
      const engine = await natsEngine({ servers: nats.endpoint });
      await engine.publish([order(1)]);
      await engine.close();
      const base = ['--endpoints', etcd.endpoint, '--namespace', '/cli-events-nats/'];
      const [listed, down] = await Promise.all([runCli(['events', 'topics', '--nats', nats.endpoint, ...base]), runCli(['events', 'topics', '--nats', '127.0.0.1:1', ...base])]);
      assert.equal(ok(listed), 'orders\n');
      assert.equal(down.code, 1);
      assert.equal(down.stdout, '');
      assert.match(down.stderr, /^coord: cannot reach NATS at 127\.0\.0\.1:1: [^\n]+\n$/);
    } finally {
      await killAllCli();
      await Promise.all([etcd.stop(), nats.stop()]);
    }
  });
});
