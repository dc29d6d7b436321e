// The embedded default engine: events kept in the etcd (or coord store) keyspace and delivered by
// watch, so `npm start` needs nothing installed. Fine at demo scale; the limits are in
// docs/events.md (one active consumer per group, a bounded log, every event a write to etcd).
//
//   <ns>events/<topic>/log/<id>              the event (JSON); publication order = create revision
//   <ns>events/<topic>/groups/<group>        the group's cursor: create revision of its last handled event
//   <ns>events/<topic>/dead/<group>/<id>     a dead letter (JSON)
//   <ns>events/<topic>/redrive/<group>/<id>  an event to deliver to one group again
//
// One consumer per group at a time holds the lock `events/<topic>/<group>` (others queue behind it
// as hot standbys); the cursor only moves in a txn that checks that lock is still held, so a
// consumer that lost it can never move a cursor past what the new holder has not handled.
import { pause } from '../core/backoff.ts';
import type { Coord } from '../coord.ts';
import { CoordError } from '../core/errors.ts';
import { compare, op } from '../client/etcd-client.ts';
import type { LockHandle } from '../lock/lock.ts';
import { checkEvent, checkLimit, checkName, retryDelay, SUBSCRIBE_DEFAULTS, type DeadLetter, type Delivery, type EventEngine, type EventHandler, type EventRecord, type SubscribeOptions, type Subscription, type TopicStats } from './event.ts';

/** Options for {@link etcdEngine}; defaults in each field's doc. */
export interface EtcdEngineOptions {
  /** Events kept per topic; the oldest beyond it are deleted, and a group further behind never sees them. Default 10000. */
  maxEvents?: number;
}

const BATCH = 64;
const TRIM_EVERY = 64;

export function etcdEngine(coord: Coord, options: EtcdEngineOptions = {}): EventEngine {
  const maxEvents = options.maxEvents ?? 10_000;
  const etcd = coord.etcd;
  const base = (topic: string) => `${coord.namespace}events/${checkName('topic', topic)}/`;
  const enc = encodeURIComponent;
  const subscriptions = new Set<Subscription>();
  let published = 0;

  async function trim(topic: string): Promise<void> {
    const log = `${base(topic)}log/`;
    const { count } = await etcd.range(log, { prefix: true, countOnly: true });
    if (count <= maxEvents) return;
    const old = await etcd.range(log, { prefix: true, keysOnly: true, sort: { target: 'create', order: 'ascend' }, limit: count - maxEvents });
    await etcd.txn({ success: old.kvs.map((kv) => op.delete(kv.key)) });
  }

  return {
    name: 'etcd',

    async publish(events, o = {}) {
      for (const e of events) checkEvent(e);
      for (const e of events) {
        const key = `${base(e.topic)}log/${enc(e.id)}`;
        // Put only if absent: the id is the dedupe key for as long as the event is kept.
        await etcd.txn({ compare: [compare.createRevision(key, '=', 0)], success: [op.put(key, JSON.stringify(e))] }, { signal: o.signal });
        if (++published % TRIM_EVERY === 0) await trim(e.topic);
      }
    },

    subscribe<T>(topic: string, group: string, handler: EventHandler<T>, o: SubscribeOptions = {}): Subscription {
      const opts = { ...SUBSCRIBE_DEFAULTS, ...o };
      const pfx = base(topic);
      const cursorKey = `${pfx}groups/${checkName('group', group)}`;
      const redrivePfx = `${pfx}redrive/${group}/`;
      const stop = new AbortController();
      let markReady!: () => void;
      const ready = new Promise<void>((r) => (markReady = r));

      const handle = async (event: EventRecord, held: LockHandle): Promise<void> => {
        for (let attempt = 1; ; attempt++) {
          const signal = AbortSignal.any([stop.signal, held.signal]);
          try {
            await handler({ ...(event as EventRecord<T>), attempt } as Delivery<T>, signal);
            return;
          } catch (e) {
            if (signal.aborted) throw e;
            const error = (e as Error)?.message ?? String(e);
            if (attempt >= opts.maxAttempts) {
              opts.log(`events ${topic}/${group}: event ${event.id} failed ${attempt} times, now a dead letter: ${error}`);
              const dead: DeadLetter = { group, event, attempts: attempt, error, time: new Date().toISOString() };
              await etcd.put(`${pfx}dead/${group}/${enc(event.id)}`, JSON.stringify(dead));
              return;
            }
            opts.log(`events ${topic}/${group}: event ${event.id} failed (attempt ${attempt}), retrying: ${error}`);
            await pause(retryDelay(attempt, opts.retryDelayMs), signal);
          }
        }
      };

      /** Moves the cursor, or fails if this consumer no longer holds the group's lock. */
      const advance = async (held: LockHandle, revision: number) => {
        const r = await etcd.txn({ compare: [compare.createRevision(held.key, '=', held.fencingToken)], success: [op.put(cursorKey, String(revision))] });
        if (!r.succeeded) throw new CoordError('lock-not-held', `events ${topic}/${group}: the group's lock was lost`);
      };

      /** Resolves at the first change under the topic at or after `revision` (or when `signal` aborts). */
      const changed = (revision: number, signal: AbortSignal) =>
        new Promise<void>((resolve) => {
          const w = etcd.watches.watch(pfx, { prefix: true, startRevision: revision });
          const done = () => {
            w.close();
            signal.removeEventListener('abort', done);
            resolve();
          };
          w.onEvents(done);
          w.onError(done);
          signal.addEventListener('abort', done, { once: true });
        });

      const consume = async (held: LockHandle) => {
        const existing = await etcd.get(cursorKey);
        // A new group starts at the oldest event kept.
        if (!existing) await etcd.txn({ compare: [compare.createRevision(cursorKey, '=', 0)], success: [op.put(cursorKey, '0')] });
        markReady();
        let cursor = Number(existing?.value.toString() ?? 0);
        const signal = AbortSignal.any([stop.signal, held.signal]);
        while (!signal.aborted) {
          const redrives = await etcd.range(redrivePfx, { prefix: true, sort: { target: 'create', order: 'ascend' }, limit: BATCH, signal });
          for (const kv of redrives.kvs) {
            await handle(JSON.parse(kv.value.toString()) as EventRecord, held);
            await etcd.txn({ compare: [compare.createRevision(held.key, '=', held.fencingToken)], success: [op.delete(kv.key)] });
          }
          const r = await etcd.range(`${pfx}log/`, { prefix: true, sort: { target: 'create', order: 'ascend' }, minCreateRevision: cursor + 1, limit: BATCH, signal });
          for (const kv of r.kvs) {
            await handle(JSON.parse(kv.value.toString()) as EventRecord, held);
            await advance(held, kv.createRevision);
            cursor = kv.createRevision;
          }
          // Watch from just after the first of the two reads: a re-drive written between them is
          // not in either answer, and a watch from after the second read would wait past it.
          if (r.kvs.length === 0 && redrives.kvs.length === 0) await changed(redrives.revision + 1, signal);
        }
      };

      const run = async () => {
        for (let failures = 0; !stop.signal.aborted; ) {
          let held: LockHandle | undefined;
          try {
            held = await coord.lock(`events/${topic}/${group}`, { signal: stop.signal });
            failures = 0;
            await consume(held);
          } catch (e) {
            if (stop.signal.aborted) break;
            failures++;
            opts.log(`events ${topic}/${group}: consumer stopped (${(e as Error).message}); again in ${retryDelay(failures, 200)} ms`);
            await pause(retryDelay(failures, 200), stop.signal);
          } finally {
            await held?.release().catch((e: unknown) => opts.log(`events ${topic}/${group}: release failed: ${(e as Error).message}`));
          }
        }
      };
      const running = run();
      const sub: Subscription = {
        ready,
        async close() {
          stop.abort(new CoordError('aborted', 'subscription closed'));
          await running;
          subscriptions.delete(sub);
        },
        [Symbol.asyncDispose]: () => sub.close(),
      };
      subscriptions.add(sub);
      return sub;
    },

    async stats(topic): Promise<TopicStats> {
      const pfx = base(topic);
      const [{ count: events }, groups] = await Promise.all([etcd.range(`${pfx}log/`, { prefix: true, countOnly: true }), etcd.range(`${pfx}groups/`, { prefix: true })]);
      return {
        topic,
        events,
        groups: await Promise.all(
          groups.kvs.map(async (kv) => {
            const group = kv.key.slice(`${pfx}groups/`.length);
            // etcd's count ignores min_create_revision (it counts the whole range), so count the keys.
            const [pending, dead] = await Promise.all([
              etcd.range(`${pfx}log/`, { prefix: true, keysOnly: true, minCreateRevision: Number(kv.value.toString()) + 1 }),
              etcd.range(`${pfx}dead/${group}/`, { prefix: true, countOnly: true }),
            ]);
            return { group, pending: pending.kvs.length, deadLetters: dead.count };
          }),
        ),
      };
    },

    async topics() {
      // etcd lists no "directories": skip from one topic's keys to the next, one read per topic.
      const root = `${coord.namespace}events/`;
      const out: string[] = [];
      for (let from = root; ; ) {
        const r = await etcd.range(from, { end: `${root.slice(0, -1)}0`, keysOnly: true, limit: 1 });
        const key = r.kvs[0]?.key;
        if (key === undefined) return out;
        const rest = key.slice(root.length);
        const slash = rest.indexOf('/');
        // `events/engine` (the announcement) has no slash; `events/outbox/` holds relay stats.
        if (slash < 0) from = `${key}\0`;
        else {
          const topic = rest.slice(0, slash);
          if (topic !== 'outbox') out.push(topic);
          // '0' follows '/': the first key after every `events/<topic>/…`.
          from = `${root}${topic}0`;
        }
      }
    },

    async tail(topic, limit) {
      const r = await etcd.range(`${base(topic)}log/`, { prefix: true, sort: { target: 'create', order: 'descend' }, limit: checkLimit(limit) });
      return r.kvs.map((kv) => JSON.parse(kv.value.toString()) as EventRecord).reverse();
    },

    async deadLetters(topic, group) {
      const r = await etcd.range(`${base(topic)}dead/${group === undefined ? '' : `${checkName('group', group)}/`}`, { prefix: true });
      return r.kvs.map((kv) => JSON.parse(kv.value.toString()) as DeadLetter);
    },

    async redrive(topic, group, id) {
      const pfx = base(topic);
      const deadKey = `${pfx}dead/${checkName('group', group)}/${enc(id)}`;
      const dead = await etcd.get(deadKey);
      if (!dead) throw new CoordError('not-found', `no dead letter ${id} for ${topic}/${group}`);
      const { event } = JSON.parse(dead.value.toString()) as DeadLetter;
      const r = await etcd.txn({
        compare: [compare.modRevision(deadKey, '=', dead.modRevision)],
        success: [op.delete(deadKey), op.put(`${pfx}redrive/${group}/${enc(id)}`, JSON.stringify(event))],
      });
      if (!r.succeeded) throw new CoordError('conflict', `dead letter ${id} for ${topic}/${group} changed meanwhile; try again`);
    },

    async close() {
      await Promise.all([...subscriptions].map((s) => s.close()));
    },
  };
}
