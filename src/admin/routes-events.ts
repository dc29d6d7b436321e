import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isCoordError } from '../core/errors.ts';
import type { EventEngine } from '../events/event.ts';
import type { DeadLettersView, EventsOverview, EventTailView, EventTopicView, OutboxReportView } from './api-types.ts';
import type { AdminContext } from './context.ts';
import { parseInput } from './errors-http.ts';

const topicParams = z.object({ topic: z.string().min(1) });
const tailQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(20) });
const deadQuery = z.object({ topic: z.string().min(1).optional(), group: z.string().min(1).optional() });
const redriveParams = z.object({ topic: z.string().min(1), group: z.string().min(1), id: z.string().min(1) });

const describeEngine = (e: EventEngine): EventsOverview['engine'] => {
  const servers = (e as { servers?: readonly string[] }).servers;
  return servers ? { name: e.name, servers: [...servers] } : { name: e.name };
};

/**
 * `/api/event-engine`: the announced events engine (topics, consumer lag per group, dead letters,
 * the newest events) and the outbox relays' reports; re-drive of a dead letter. While the engine or
 * etcd is unreachable the overview shows the last figures read, with their time.
 */
export function eventsRoutes(app: FastifyInstance, ctx: AdminContext): void {
  let lastTopics: { engine: EventsOverview['engine']; topics: EventTopicView[]; at: string } | undefined;
  let lastOutboxes: { rows: OutboxReportView[]; at: string } | undefined;

  const readTopics = async (engine: EventEngine): Promise<EventTopicView[]> => {
    const stats = await Promise.all((await engine.topics()).map((t) => engine.stats(t)));
    return stats.map((s) => ({ topic: s.topic, events: s.events, groups: [...s.groups].sort((a, b) => a.group.localeCompare(b.group)) }));
  };

  app.get('/api/event-engine', async (): Promise<EventsOverview> => {
    const { readRelayReports } = await import('../events/relay-reports.ts');
    const [engineSide, outboxSide] = await Promise.allSettled([
      (async () => {
        const engine = await ctx.events.engine(ctx.live.stale);
        return { engine: describeEngine(engine), topics: await readTopics(engine) };
      })(),
      readRelayReports(ctx.coord),
    ]);
    const out: EventsOverview = { engine: null, topics: [], outboxes: [] };
    if (engineSide.status === 'fulfilled') {
      Object.assign(out, engineSide.value);
      lastTopics = { ...engineSide.value, at: new Date().toISOString() };
    } else {
      const e = engineSide.reason as Error;
      out.engineError = e.message;
      // Nothing announced is a state to show, not an outage: no last figures then.
      if (lastTopics && !isCoordError(e, 'not-found')) Object.assign(out, { engine: lastTopics.engine, topics: lastTopics.topics, topicsAsOf: lastTopics.at });
      else if (!isCoordError(e, 'not-found')) ctx.log(`admin: events engine not read (${e.message})`);
    }
    if (outboxSide.status === 'fulfilled') {
      out.outboxes = outboxSide.value;
      lastOutboxes = { rows: outboxSide.value, at: new Date().toISOString() };
    } else {
      out.outboxesError = (outboxSide.reason as Error).message;
      if (lastOutboxes) Object.assign(out, { outboxes: lastOutboxes.rows, outboxesAsOf: lastOutboxes.at });
    }
    return out;
  });

  app.get('/api/event-engine/topics/:topic/tail', async (req): Promise<EventTailView> => {
    const { topic } = parseInput(topicParams, req.params, 'path');
    const { limit } = parseInput(tailQuery, req.query, 'query');
    const engine = await ctx.events.engine();
    return { topic, events: await engine.tail(topic, limit) };
  });

  app.get('/api/event-engine/dead-letters', async (req): Promise<DeadLettersView> => {
    const { topic, group } = parseInput(deadQuery, req.query, 'query');
    const engine = await ctx.events.engine();
    const topics = topic === undefined ? await engine.topics() : [topic];
    return { deadLetters: (await Promise.all(topics.map((t) => engine.deadLetters(t, group)))).flat() };
  });

  // Writes go through the admin API's token and read-only checks (server.ts) like every other change.
  app.post('/api/event-engine/topics/:topic/groups/:group/dead-letters/:id/redrive', async (req) => {
    const { topic, group, id } = parseInput(redriveParams, req.params, 'path');
    const engine = await ctx.events.engine();
    await engine.redrive(topic, group, id);
    ctx.log(`admin: dead letter ${id} of ${topic}/${group} re-driven`);
    return { redriven: { topic, group, id } };
  });
}
