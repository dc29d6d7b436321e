import { CoordError, abortError } from '../core/errors.ts';
import { compare, op, type EtcdClient, type KeyValue } from '../client/etcd-client.ts';
import { traced, tracedEvent } from '../core/tracing.ts';
import { RepeatLog } from '../core/repeat-log.ts';
import { untilReachable } from '../core/until-reachable.ts';
import { withQueueEntry } from '../lock/queue-entry.ts';
import { waitDeletes } from '../lock/wait-deletes.ts';

/** Options for `Coord.campaign()`; defaults in each field's doc. */
export interface CampaignOptions {
  /** TTL of the candidate's lease, seconds: how long a crashed leader keeps the seat. Default 10. */
  ttl?: number;
  /** Stop campaigning (rejects with an 'aborted' CoordError and withdraws the candidacy). */
  signal?: AbortSignal;
}

/** The current leader of an election, as `Coord.leader()` and `Coord.observe()` report it. */
export interface Leader {
  key: string;
  value: Buffer;
  /** Create revision of the leader's key: increases with every new leader (a fencing token). */
  revision: number;
}

/** Won leadership. Usable with `await using` (resigns). */
export interface Leadership {
  readonly name: string;
  readonly key: string;
  /** The leader key's create revision; strictly increasing across successive leaders. */
  readonly fencingToken: number;
  /** Aborts when leadership is lost (lease not kept alive) or given up. */
  readonly signal: AbortSignal;
  /** Whether it is still the leader, checking the lease deadline now (see `LockHandle.isHeld`). */
  isLeader(): boolean;
  /** Publishes a new value without giving up leadership. */
  proclaim(value: string): Promise<void>;
  resign(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const firstCreated = { prefix: true, sort: { target: 'create', order: 'ascend' }, limit: 1 } as const;

/** etcd's `concurrency.Election` protocol and layout: `<prefix>/<lease-id-hex>`, leader = lowest create revision. */
export function campaign(client: EtcdClient, prefix: string, name: string, value: string, options: CampaignOptions = {}, log?: (line: string) => void): Promise<Leadership> {
  const startedAt = performance.now();
  return traced('coord.election.campaign', { 'coord.election.name': name }, async (span) => {
    const leadership = await candidacy(client, prefix, name, value, options, log);
    span.setAttributes({ 'coord.election.fencing_token': leadership.fencingToken, 'coord.election.wait_ms': performance.now() - startedAt });
    return leadership;
  });
}

function candidacy(client: EtcdClient, prefix: string, name: string, value: string, options: CampaignOptions, log?: (line: string) => void): Promise<Leadership> {
  // Waits out an unreachable etcd (bounded by the caller's signal), as register() does.
  return withQueueEntry(client, prefix, `campaign for ${name}`, { ...options, waitForEtcd: true, log }, async ({ session, pfx, key, signal, lost, leave, reach }) => {
    // Put-if-absent (else read it): sending it again after a lost reply changes nothing.
    const r = await reach(() =>
      client.txn({ compare: [compare.createRevision(key, '=', 0)], success: [op.put(key, value, { lease: session.lease })], failure: [op.get(key)] }, { signal }),
    );
    const rev = r.succeeded ? r.revision : r.responses[0].kvs![0].createRevision;
    await waitDeletes(client, pfx, key, rev, `campaign for ${name}`, signal, reach);
    const resigned = new AbortController();
    const handleSignal = AbortSignal.any([lost, resigned.signal]);
    const attributes = { 'coord.election.name': name, 'coord.election.fencing_token': rev };
    const onLost = () => tracedEvent('coord.election.lost', attributes, undefined, String(lost.reason));
    lost.addEventListener('abort', onLost, { once: true });
    const resign = async () => {
      if (resigned.signal.aborted) return;
      lost.removeEventListener('abort', onLost);
      resigned.abort(new CoordError('not-leader', `resigned from ${name}`));
      await traced('coord.election.resign', attributes, () => leave(rev));
    };
    return {
      name,
      key,
      fencingToken: rev,
      signal: handleSignal,
      isLeader: () => !resigned.signal.aborted && session.checkAlive() && !lost.aborted,
      async proclaim(v: string) {
        if (handleSignal.aborted) throw abortError(handleSignal, `proclaim on ${name}`);
        const p = await client.txn({ compare: [compare.createRevision(key, '=', rev)], success: [op.put(key, v, { lease: session.lease })] });
        if (!p.succeeded) throw new CoordError('not-leader', `not the leader of ${name} any more`);
      },
      resign,
      [Symbol.asyncDispose]: resign,
    };
  });
}

/** The current leader, or undefined when nobody holds the seat. */
export async function leader(client: EtcdClient, prefix: string, signal?: AbortSignal): Promise<Leader | undefined> {
  const r = await client.range(`${prefix}/`, { ...firstCreated, signal });
  return r.kvs[0] && toLeader(r.kvs[0]);
}

const toLeader = (kv: KeyValue): Leader => ({ key: kv.key, value: kv.value, revision: kv.createRevision });

/**
 * Leaders as they change: the current one first (if any), then every new leader or proclaimed
 * value. `undefined` is yielded when the seat becomes empty. Ends when `signal` aborts — and only
 * then: while etcd is unreachable it waits and retries (one `log` line per outage).
 */
export async function* observe(client: EtcdClient, prefix: string, signal: AbortSignal, log?: (line: string) => void): AsyncGenerator<Leader | undefined> {
  const pfx = `${prefix}/`;
  const outage = new RepeatLog(log ?? (() => {}));
  let last: string | undefined;
  for (;;) {
    if (signal.aborted) return;
    let r;
    try {
      r = await untilReachable(() => client.range(pfx, { ...firstCreated, signal }), { signal, outage, what: `observing election ${prefix}` });
    } catch (e) {
      if (signal.aborted) return;
      throw e;
    }
    const cur = r.kvs[0];
    const id = cur ? `${cur.createRevision}:${cur.modRevision}` : 'none';
    if (id !== last) {
      last = id;
      yield cur && toLeader(cur);
    }
    // Sleep until anything under the prefix changes, then re-read the head of the line.
    const changed = await new Promise<boolean>((resolve) => {
      const w = client.watches.watch(pfx, { prefix: true, startRevision: r.revision + 1 });
      const finish = (v: boolean) => {
        signal.removeEventListener('abort', onAbort);
        w.close();
        resolve(v);
      };
      const onAbort = () => finish(false);
      signal.addEventListener('abort', onAbort, { once: true });
      w.onEvents(() => finish(true));
      w.onError(() => finish(true));
    });
    if (!changed) return;
  }
}
