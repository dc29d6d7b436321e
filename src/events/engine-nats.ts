// NATS JetStream engine: a stream per topic (`coord_<topic>`, subjects `coord.<topic>.>`), a
// durable pull consumer per group with explicit acks, and JetStream's own de-duplication on the
// event id (`Nats-Msg-Id`) within the stream's duplicate window. Dead letters go to one stream,
// `coord_dead_letters`. The @nats-io packages are optional peer dependencies, loaded only here.
import type { JsMsg } from '@nats-io/jetstream';
import { CoordError } from '../core/errors.ts';
import { checkEvent, checkLimit, checkName, retryDelay, SUBSCRIBE_DEFAULTS, type DeadLetter, type Delivery, type EventEngine, type EventHandler, type EventRecord, type SubscribeOptions, type Subscription, type TopicStats } from './event.ts';

/** Options for {@link natsEngine}; defaults in each field's doc. */
export interface NatsEngineOptions {
  /** NATS server(s), e.g. `127.0.0.1:4222`. Required. */
  servers: string | string[];
  /** Prefix of stream names and subjects, so several systems can share a server. Default `coord`. */
  prefix?: string;
  /** How long JetStream remembers an event id to drop a second publish of it. Default 2 min (JetStream's default). */
  duplicateWindowMs?: number;
  /** How long a topic's events are kept. Default 7 days. */
  maxAgeMs?: number;
  /** One line per notable event. Default none. */
  log?: (line: string) => void;
}

/** The NATS engine, with what it was opened on (announceEngine() publishes it for the CLI and the dashboard). */
export interface NatsEventEngine extends EventEngine {
  readonly name: 'nats-jetstream';
  /** The servers it was given, as given. */
  readonly servers: readonly string[];
  /** Prefix of its stream names and subjects. */
  readonly prefix: string;
}

const REDRIVE_GROUP = 'Coord-Redrive-Group';

async function load() {
  try {
    const [transport, js] = await Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')]);
    return { ...transport, ...js };
  } catch (e) {
    throw new CoordError('invalid-argument', `the NATS engine needs @nats-io/transport-node and @nats-io/jetstream: npm install @nats-io/transport-node @nats-io/jetstream (${(e as Error).message})`);
  }
}

/** Connects to NATS and returns the engine; streams and consumers are created as topics and groups are first used. */
export async function natsEngine(options: NatsEngineOptions): Promise<NatsEventEngine> {
  const nats = await load();
  const prefix = options.prefix ?? 'coord';
  const log = options.log ?? (() => {});
  const nc = await nats.connect({ servers: options.servers, maxReconnectAttempts: -1, reconnectTimeWait: 500, name: 'coord-events' }).catch((e: unknown) => {
    throw new CoordError('unavailable', `cannot reach NATS at ${[options.servers].flat().join(',')}: ${(e as Error).message}`, { cause: e });
  });
  const jsm = await nats.jetstreamManager(nc);
  const js = nats.jetstream(nc);
  const streamOf = (topic: string) => `${prefix}_${checkName('topic', topic)}`;
  const deadStream = `${prefix}_dead_letters`;
  const known = new Map<string, Promise<void>>();
  const subscriptions = new Set<Subscription>();

  /** Creates a stream once per process (adding an existing identical stream is a no-op in JetStream). */
  const ensure = (name: string, subjects: string[]) => {
    let p = known.get(name);
    if (!p) {
      p = jsm.streams
        .add({ name, subjects, duplicate_window: nats.nanos(options.duplicateWindowMs ?? 120_000), max_age: nats.nanos(options.maxAgeMs ?? 7 * 24 * 3600_000) })
        .then(() => undefined);
      p.catch(() => known.delete(name)); // not cached: the next use tries again and its caller sees the error
      known.set(name, p);
    }
    return p;
  };
  const ensureTopic = (topic: string) => ensure(streamOf(topic), [`${prefix}.${topic}.>`]);
  const ensureDead = () => ensure(deadStream, [`${prefix}.dead.>`]);

  async function publishOne(subject: string, event: EventRecord, msgID: string, headers?: Record<string, string>) {
    const h = nats.headers();
    for (const [k, v] of Object.entries(headers ?? {})) h.set(k, v);
    await js.publish(subject, JSON.stringify(event), { msgID, headers: h });
  }

  /** The stream's info, or undefined when it does not exist (reads create nothing). */
  const streamInfo = async (name: string) => {
    try {
      return await jsm.streams.info(name);
    } catch (e) {
      if (isStreamNotFound(e)) return undefined;
      throw e;
    }
  };

  const engine: NatsEventEngine = {
    name: 'nats-jetstream',
    servers: typeof options.servers === 'string' ? [options.servers] : [...options.servers],
    prefix,

    async publish(events, o = {}) {
      for (const e of events) checkEvent(e);
      for (const e of events) {
        if (o.signal?.aborted) throw new CoordError('aborted', 'publish aborted');
        await ensureTopic(e.topic);
        await publishOne(`${prefix}.${e.topic}.events`, e, e.id);
      }
    },

    subscribe<T>(topic: string, group: string, handler: EventHandler<T>, o: SubscribeOptions = {}): Subscription {
      const opts = { ...SUBSCRIBE_DEFAULTS, ...o };
      checkName('group', group);
      const stream = streamOf(topic);
      const stop = new AbortController();
      let markReady!: () => void;
      let failReady!: (e: unknown) => void;
      const ready = new Promise<void>((res, rej) => ((markReady = res), (failReady = rej)));
      ready.catch(() => {}); // its awaiter gets the rejection; the loop below retries and logs

      const handle = async (m: JsMsg) => {
        const event = m.json<EventRecord<T>>();
        const target = m.headers?.get(REDRIVE_GROUP);
        if (target && target !== group) return m.ack(); // a re-drive meant for another group
        const attempt = m.info.deliveryCount;
        // Keep the ack deadline from passing while the handler works.
        const working = setInterval(() => m.working(), 10_000);
        try {
          await handler({ ...event, attempt } as Delivery<T>, stop.signal);
          await m.ackAck();
        } catch (e) {
          const error = (e as Error)?.message ?? String(e);
          if (attempt >= opts.maxAttempts) {
            opts.log(`events ${topic}/${group}: event ${event.id} failed ${attempt} times, now a dead letter: ${error}`);
            await ensureDead();
            const dead: DeadLetter = { group, event, attempts: attempt, error, time: new Date().toISOString() };
            await js.publish(`${prefix}.dead.${topic}.${group}`, JSON.stringify(dead), { msgID: `${topic}:${group}:${event.id}:${m.info.streamSequence}` });
            await m.ackAck(); // handled: it is the dead-letter stream's now
          } else {
            opts.log(`events ${topic}/${group}: event ${event.id} failed (attempt ${attempt}), retrying: ${error}`);
            m.nak(retryDelay(attempt, opts.retryDelayMs));
          }
        } finally {
          clearInterval(working);
        }
      };

      const run = async () => {
        for (let failures = 0; !stop.signal.aborted; ) {
          try {
            await ensureTopic(topic);
            // max_ack_pending 1: one event in flight per group, so a key's events are handled in order.
            await jsm.consumers.add(stream, { durable_name: group, ack_policy: nats.AckPolicy.Explicit, deliver_policy: nats.DeliverPolicy.All, max_ack_pending: 1, ack_wait: nats.nanos(30_000), max_deliver: -1 });
            markReady();
            const consumer = await js.consumers.get(stream, group);
            const messages = await consumer.consume({ max_messages: 16 });
            const onStop = () => void messages.close();
            stop.signal.addEventListener('abort', onStop, { once: true });
            try {
              for await (const m of messages) {
                failures = 0;
                await handle(m);
                if (stop.signal.aborted) break;
              }
            } finally {
              stop.signal.removeEventListener('abort', onStop);
            }
          } catch (e) {
            if (stop.signal.aborted) break;
            failures++;
            if (failures === 1) failReady(e);
            opts.log(`events ${topic}/${group}: consumer stopped (${(e as Error).message}); again in ${retryDelay(failures, 200)} ms`);
            await new Promise((r) => setTimeout(r, retryDelay(failures, 200)));
          }
        }
      };
      const running = run();
      const sub: Subscription = {
        ready,
        async close() {
          stop.abort();
          await running;
          subscriptions.delete(sub);
        },
        [Symbol.asyncDispose]: () => sub.close(),
      };
      subscriptions.add(sub);
      return sub;
    },

    async stats(topic): Promise<TopicStats> {
      const stream = streamOf(topic);
      const info = await streamInfo(stream);
      if (!info) return { topic, events: 0, groups: [] };
      const dead = await engine.deadLetters(topic);
      const groups: TopicStats['groups'] = [];
      for await (const c of jsm.consumers.list(stream)) {
        const group = c.config.durable_name ?? c.name;
        groups.push({ group, pending: c.num_pending + c.num_ack_pending, deadLetters: dead.filter((d) => d.group === group).length });
      }
      return { topic, events: info.state.messages, groups };
    },

    async topics() {
      const out: string[] = [];
      // A topic's stream is `<prefix>_<topic>` on subjects `<prefix>.<topic>.>` (dead letters: `<prefix>.dead.>`).
      for await (const info of jsm.streams.list()) {
        const [subject] = info.config.subjects ?? [];
        const topic = subject?.startsWith(`${prefix}.`) && subject.endsWith('.>') ? subject.slice(prefix.length + 1, -2) : '';
        if (info.config.name === `${prefix}_${topic}` && topic !== 'dead') out.push(topic);
      }
      return out.sort();
    },

    async tail(topic, limit) {
      checkLimit(limit);
      const stream = streamOf(topic);
      const info = await streamInfo(stream);
      if (!info) return [];
      const out: EventRecord[] = [];
      // Newest first by sequence, skipping re-drives (a second copy of an event) and removed messages.
      for (let seq = info.state.last_seq; seq >= info.state.first_seq && seq > 0 && out.length < limit; seq--) {
        let m;
        try {
          m = await jsm.streams.getMessage(stream, { seq });
        } catch (e) {
          if (isMessageNotFound(e)) continue;
          throw e;
        }
        if (m && m.subject === `${prefix}.${topic}.events`) out.push(m.json<EventRecord>());
      }
      return out.reverse();
    },

    async deadLetters(topic, group) {
      if (!(await streamInfo(deadStream))) return [];
      const subject = `${prefix}.dead.${checkName('topic', topic)}.${group === undefined ? '*' : checkName('group', group)}`;
      return (await readDead(subject)).map((d) => d.letter);
    },

    async redrive(topic, group, id) {
      const subject = `${prefix}.dead.${checkName('topic', topic)}.${checkName('group', group)}`;
      await ensureDead();
      const found = (await readDead(subject)).find((d) => d.letter.event.id === id);
      if (!found) throw new CoordError('not-found', `no dead letter ${id} for ${topic}/${group}`);
      await ensureTopic(topic);
      // A new message id: the original is inside JetStream's duplicate window for a while.
      await publishOne(`${prefix}.${topic}.redrive`, found.letter.event, `${id}:redrive:${group}:${found.seq}`, { [REDRIVE_GROUP]: group });
      await jsm.streams.deleteMessage(deadStream, found.seq);
    },

    async close() {
      await Promise.all([...subscriptions].map((s) => s.close()));
      await nc.drain();
    },
  };
  return engine;

  function isStreamNotFound(e: unknown): boolean {
    return e instanceof nats.JetStreamApiError && e.code === nats.JetStreamApiCodes.StreamNotFound;
  }

  function isMessageNotFound(e: unknown): boolean {
    return e instanceof nats.JetStreamApiError && e.code === nats.JetStreamApiCodes.NoMessageFound;
  }

  /** Every dead letter on `subject` (wildcards allowed), oldest first. */
  async function readDead(subject: string): Promise<Array<{ seq: number; letter: DeadLetter }>> {
    const out: Array<{ seq: number; letter: DeadLetter }> = [];
    // One filter subject as a string: nats-server 2.9 (Debian's) takes no list.
    const consumer = await js.consumers.get(deadStream, { filter_subjects: subject });
    for (;;) {
      const m = await consumer.next({ expires: 1000 });
      if (!m) break;
      out.push({ seq: m.seq, letter: m.json<DeadLetter>() });
      if (m.info.pending === 0) break;
    }
    await consumer.delete().catch((e: unknown) => log(`events: could not delete a temporary consumer: ${(e as Error).message}`));
    return out;
  }
}
