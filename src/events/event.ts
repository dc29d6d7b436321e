// The events contract: what an event is, and the one small interface every engine implements
// (NATS JetStream, and the embedded default over etcd / coord store). Engines run one shared
// conformance suite (test/conformance/events-engine.test.ts); the outbox and the consumers are
// built on this interface, not on any engine.
import { CoordError } from '../core/errors.ts';

/** An event as published. */
export interface EventRecord<T = unknown> {
  /** Stable and unique per event (the outbox row id): engines drop a second publish of the same id. */
  id: string;
  /** Topic, e.g. `orders`: lower-case letters, digits, `-` and `_`. */
  topic: string;
  /** What happened, e.g. `OrderCreated`. */
  type: string;
  /** Ordering key (e.g. the order id): a group sees the events of one key in publication order. */
  key: string;
  /** JSON payload. */
  data: T;
  /** When the change that raised it committed (ISO 8601). */
  time: string;
}

/** An event handed to a handler: the record and which delivery this is (1 = first). */
export interface Delivery<T = unknown> extends EventRecord<T> {
  attempt: number;
}

/** Resolves when the event's effect is done (the engine acknowledges it); a rejection means "deliver again later". */
export type EventHandler<T = unknown> = (event: Delivery<T>, signal: AbortSignal) => Promise<void>;

/** Options for {@link EventEngine.subscribe}; defaults in each field's doc. */
export interface SubscribeOptions {
  /** Deliveries before an event that keeps failing becomes a dead letter. Default 5. */
  maxAttempts?: number;
  /** Delay before the second delivery; doubles each time, at most 30 s. Default 500 ms. */
  retryDelayMs?: number;
  /** One line per notable event (a failed delivery, a dead letter, a lost connection). Default none. */
  log?: (line: string) => void;
}

/** A group's consumer. Closing it stops deliveries; what was not acknowledged is delivered again later (to this group). */
export interface Subscription {
  /** Resolves once the consumer is set up (its durable state exists): events published after that reach the group. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** An event a group gave up on after `maxAttempts`, with the last error. */
export interface DeadLetter {
  group: string;
  event: EventRecord;
  attempts: number;
  error: string;
  /** When it was given up (ISO 8601). */
  time: string;
}

/** Backlog per consumer group. */
export interface TopicStats {
  topic: string;
  /** Events the engine holds for the topic. */
  events: number;
  groups: Array<{ group: string; pending: number; deadLetters: number }>;
}

export interface EventEngine {
  /** `nats-jetstream` or `etcd`. */
  readonly name: string;
  /** Durable in the engine when it resolves; events whose id was published before (within the engine's dedupe window) are dropped. */
  publish(events: readonly EventRecord[], options?: { signal?: AbortSignal }): Promise<void>;
  /** At-least-once delivery of `topic` to `group`: each group gets every event; within a group one consumer handles each event. */
  subscribe<T = unknown>(topic: string, group: string, handler: EventHandler<T>, options?: SubscribeOptions): Subscription;
  stats(topic: string): Promise<TopicStats>;
  /** The topics the engine holds events (or groups) of, sorted. Reading creates nothing. */
  topics(): Promise<string[]>;
  /** The newest `limit` events of `topic`, newest last (re-drives are not listed again); `[]` for a topic it does not hold. */
  tail(topic: string, limit: number): Promise<EventRecord[]>;
  deadLetters(topic: string, group?: string): Promise<DeadLetter[]>;
  /** Removes a dead letter and delivers its event to its group again. */
  redrive(topic: string, group: string, id: string): Promise<void>;
  close(): Promise<void>;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Topic names the engines keep for themselves: NATS dead letters are on subjects `<prefix>.dead.…`; `<ns>events/outbox/` holds the relays' stats. */
const RESERVED_TOPICS = new Set(['dead', 'outbox']);

/** Topic and group names: lower-case letters, digits, `-` and `_`, at most 63 (safe as NATS subject tokens, stream names and etcd keys); topics `dead` and `outbox` are reserved. */
export function checkName(kind: 'topic' | 'group', name: string): string {
  if (!NAME.test(name)) throw new CoordError('invalid-argument', `${kind} ${JSON.stringify(name)}: use lower-case letters, digits, '-' and '_' (at most 63, starting with a letter or digit)`);
  if (kind === 'topic' && RESERVED_TOPICS.has(name)) throw new CoordError('invalid-argument', `topic ${JSON.stringify(name)} is reserved (the engines use it); choose another name`);
  return name;
}

/** A `limit` for {@link EventEngine.tail}: a whole number from 1 to 1000. */
export function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CoordError('invalid-argument', `tail limit must be a whole number from 1 to 1000, got ${limit}`);
  return limit;
}

export function checkEvent(e: EventRecord): void {
  checkName('topic', e.topic);
  if (!e.id || typeof e.id !== 'string') throw new CoordError('invalid-argument', `event of topic ${e.topic} has no id`);
  if (!e.type || typeof e.type !== 'string') throw new CoordError('invalid-argument', `event ${e.id} has no type`);
  if (typeof e.key !== 'string') throw new CoordError('invalid-argument', `event ${e.id} has no key`);
}

/** Delay before delivery `attempt + 1` after `attempt` failed. */
export function retryDelay(attempt: number, baseMs: number): number {
  return Math.min(30_000, baseMs * 2 ** Math.max(0, attempt - 1));
}

export const SUBSCRIBE_DEFAULTS = { maxAttempts: 5, retryDelayMs: 500, log: (_line: string) => {} } satisfies Required<SubscribeOptions>;
