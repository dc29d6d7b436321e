import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CoordError } from '../core/errors.ts';
import { prefixEnd } from '../client/etcd-client.ts';
import type { WatchBatch } from '../client/watch-manager.ts';
import type { KvChange, KvListing, KvValueView } from './api-types.ts';
import type { AdminContext } from './context.ts';
import { parseInput } from './errors-http.ts';
import { decodeKv, kvMeta } from './kv-decode.ts';
import { openSse } from './sse.ts';

const listQuery = z.object({
  prefix: z.string().default(''),
  /** Continue after this key (the last one of the previous page). */
  after: z.string().optional(),
  limit: z.coerce.number().int().positive().max(1000).default(200),
});
const valueQuery = z.object({ key: z.string().min(1, 'key must not be empty'), revision: z.coerce.number().int().positive().optional() });
const watchQuery = z.object({ prefix: z.string().default(''), fromRevision: z.coerce.number().int().positive().optional() });

/** The end of a prefix range as a string key; an empty prefix means every key ('\0' to '\0'). */
function rangeOf(prefix: string): { start: string; end: string } {
  if (prefix === '') return { start: '\0', end: '\0' };
  return { start: prefix, end: prefixEnd(prefix).toString() };
}

/** `/api/kv`: raw keys under any prefix (the namespace does not apply), one value decoded, a live watch. */
export function kvRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const etcd = ctx.coord.etcd;

  app.get('/api/kv', async (req): Promise<KvListing> => {
    const q = parseInput(listQuery, req.query, 'query');
    const { start, end } = rangeOf(q.prefix);
    const from = q.after !== undefined ? `${q.after}\0` : start;
    const r = await etcd.range(from < start ? start : from, { end, limit: q.limit, sort: { target: 'key', order: 'ascend' } });
    return { prefix: q.prefix, revision: r.revision, keys: r.kvs.map(kvMeta), more: r.more };
  });

  app.get('/api/kv/value', async (req): Promise<KvValueView & { revision: number }> => {
    const q = parseInput(valueQuery, req.query, 'query');
    const r = await etcd.range(q.key, { revision: q.revision });
    const kv = r.kvs[0];
    if (!kv) throw new CoordError('not-found', `key ${JSON.stringify(q.key)} does not exist${q.revision ? ` at revision ${q.revision}` : ''}`);
    return { ...decodeKv(kv), revision: r.revision };
  });

  // Live changes under a prefix. `fromRevision` (the listing's revision + 1) closes the gap
  // between the listing and the watch.
  app.get('/api/kv/watch', async (req, reply) => {
    const q = parseInput(watchQuery, req.query, 'query');
    const { start, end } = rangeOf(q.prefix);
    await etcd.status(); // fail with 503 before switching to a stream when etcd is unreachable
    const sse = openSse(req, reply, ctx.streams);
    const w = etcd.watches.watch(start, { end, startRevision: q.fromRevision });
    w.onEvents((batch: WatchBatch) => {
      const changes: KvChange[] = batch.events.map((e) => ({ type: e.type, key: e.kv.key, revision: e.kv.modRevision, size: e.kv.value.length }));
      sse.send('changes', { revision: batch.revision, changes });
    });
    w.onState((s) => sse.send('watch', { connected: s === 'connected' }));
    w.onError((err) => {
      sse.send('error', { error: err.code, message: err.message });
      sse.close();
    });
    await sse.closed;
    w.close();
  });
}
