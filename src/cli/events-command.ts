import type { Command } from 'commander';
import type { Coord } from '../coord.ts';
import { isCoordError } from '../core/errors.ts';
import type { EventEngine } from '../events/event.ts';
import type { RelayReportRow } from '../events/relay-reports.ts';
import { action, connectFrom, intArg, printTable, UsageError, withConnection, type ConnectionFlags } from './common.ts';

interface EventsFlags extends ConnectionFlags {
  nats?: string;
  group?: string;
  n?: string;
}

/** Runs `fn` with the announced engine (or the NATS one of --nats), closing both afterwards. */
async function withEngine<T>(f: EventsFlags, fn: (engine: EventEngine, coord: Coord) => Promise<T>): Promise<T> {
  const c = connectFrom(f);
  try {
    // Loaded here: the events module (and the NATS client it may load) only for these commands.
    const { openAnnouncedEngine } = await import('../events/announce.ts');
    const nats = f.nats === undefined ? undefined : f.nats.split(',').map((s) => s.trim()).filter(Boolean);
    if (nats !== undefined && nats.length === 0) throw new UsageError('--nats needs host:port (comma separated for several)');
    let engine: EventEngine;
    try {
      engine = await openAnnouncedEngine(c, { nats });
    } catch (e) {
      // Said as it is: the CLI's own wording of 'unavailable' is about etcd.
      if (isCoordError(e, 'unavailable') && /cannot reach NATS/.test((e as Error).message)) throw new Error((e as Error).message);
      throw e;
    }
    try {
      return await fn(engine, c);
    } finally {
      await engine.close();
    }
  } finally {
    await c.close();
  }
}

const withEngineFlags = (cmd: Command) => withConnection(cmd).option('--nats <servers>', 'NATS servers (host:port, comma separated) instead of the engine announced at <namespace>events/engine');

const yesNo = (b: boolean) => (b ? 'yes' : 'no');
const age = (s: number) => `${s.toFixed(1)}s`;
const describeEngine = (e: EventEngine) => {
  const servers = (e as { servers?: readonly string[] }).servers;
  return servers ? `${e.name} (${servers.join(',')})` : e.name;
};

function printOutboxes(rows: RelayReportRow[]): void {
  if (rows.length === 0) {
    console.log('no outbox relay reports');
    return;
  }
  printTable(
    ['outbox', 'instance', 'leader', 'backlog', 'oldest age', 'sent', 'errors', 'updated'],
    rows.map((r) => ('malformed' in r ? [r.outbox, r.instance, '-', '-', '-', '-', '-', `malformed: ${r.malformed}`] : [r.outbox, r.instance, yesNo(r.leader), String(r.backlog), age(r.oldestAgeSeconds), String(r.sent), String(r.errors), r.updated])),
  );
}

/** `coord events topics|stats|tail|dead-letters|redrive`: what is in the events engine, and re-drive. */
export function registerEventsCommands(program: Command): void {
  const events = program
    .command('events')
    .description('the events engine the services announced: topics, consumer lag per group, outbox backlog, the newest events, dead letters and re-drive');

  withEngineFlags(events.command('topics'))
    .description('list the topics the engine holds')
    .action(
      action(async (f: EventsFlags) =>
        withEngine(f, async (engine) => {
          const topics = await engine.topics();
          if (f.json) console.log(JSON.stringify(topics));
          else if (topics.length === 0) console.log(`no topics in the ${engine.name} engine`);
          else for (const t of topics) console.log(t);
        }),
      ),
    );

  withEngineFlags(events.command('stats [topic]'))
    .description('events kept per topic; per consumer group the events pending (its lag) and its dead letters; the outbox relays\' backlog')
    .action(
      action(async (topic: string | undefined, f: EventsFlags) =>
        withEngine(f, async (engine, coord) => {
          const { readRelayReports } = await import('../events/relay-reports.ts');
          const topics = topic === undefined ? await engine.topics() : [topic];
          const stats = await Promise.all(topics.map((t) => engine.stats(t)));
          const outboxes = await readRelayReports(coord);
          if (f.json) {
            console.log(JSON.stringify({ engine: engine.name, topics: stats, outboxes }));
            return;
          }
          console.log(`engine: ${describeEngine(engine)}`);
          if (stats.length === 0) console.log('no topics');
          else {
            printTable(
              ['topic', 'events', 'group', 'pending', 'dead letters'],
              stats.flatMap((s) => (s.groups.length === 0 ? [[s.topic, String(s.events), '-', '-', '-']] : [...s.groups].sort((a, b) => a.group.localeCompare(b.group)).map((g) => [s.topic, String(s.events), g.group, String(g.pending), String(g.deadLetters)]))),
            );
          }
          console.log('');
          printOutboxes(outboxes);
        }),
      ),
    );

  withEngineFlags(events.command('tail <topic>').option('-n <count>', 'how many of the newest events (1 to 1000)', '20'))
    .description('print the newest events of a topic, oldest first')
    .action(
      action(async (topic: string, f: EventsFlags) => {
        const n = intArg('-n', f.n)!;
        if (n < 1 || n > 1000) throw new UsageError(`-n must be from 1 to 1000, got ${n}`);
        return withEngine(f, async (engine) => {
          const list = await engine.tail(topic, n);
          if (f.json) for (const e of list) console.log(JSON.stringify(e));
          else if (list.length === 0) console.log(`no events in ${topic}`);
          else printTable(['time', 'type', 'key', 'id', 'data'], list.map((e) => [e.time, e.type, e.key, e.id, JSON.stringify(e.data)]));
        });
      }),
    );

  withEngineFlags(events.command('dead-letters [topic]').option('--group <group>', 'only the dead letters of this consumer group'))
    .description('list the events consumer groups gave up on, with the last error (all topics when none is named)')
    .action(
      action(async (topic: string | undefined, f: EventsFlags) =>
        withEngine(f, async (engine) => {
          const topics = topic === undefined ? await engine.topics() : [topic];
          const dead = (await Promise.all(topics.map((t) => engine.deadLetters(t, f.group)))).flat();
          if (f.json) console.log(JSON.stringify(dead));
          else if (dead.length === 0) console.log('no dead letters');
          else printTable(['topic', 'group', 'id', 'type', 'attempts', 'failed at', 'error'], dead.map((d) => [d.event.topic, d.group, d.event.id, d.event.type, String(d.attempts), d.time, d.error]));
        }),
      ),
    );

  withEngineFlags(events.command('redrive <topic> <group> <id>'))
    .description("deliver a dead letter to its group again (and remove it from the dead letters)")
    .action(
      action(async (topic: string, group: string, id: string, f: EventsFlags) =>
        withEngine(f, async (engine) => {
          await engine.redrive(topic, group, id);
          console.log(f.json ? JSON.stringify({ redriven: { topic, group, id } }) : `re-driven: event ${id} goes to ${topic}/${group} again`);
        }),
      ),
    );
}
