import type { FastifyInstance } from 'fastify';
import type { CoordinationView, ElectionView, LockView, QueueEntryView, SemaphoreView } from './api-types.ts';
import type { AdminContext } from './context.ts';
import { instancesByLease, ownerOf } from './lock-holders.ts';
import { holderCount, permitsOf, queuesOf, type QueueKey } from './queue-tracker.ts';

/** Lease TTL look-ups per request at most; past it the rest show no TTL rather than stall the page. */
const MAX_LEASE_LOOKUPS = 200;

/** `/api/coordination`: locks, semaphores and elections with holders, queues and leadership history. */
export function coordinationRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get('/api/coordination', async (): Promise<CoordinationView> => {
    await ctx.live.fresh();
    const { mirror, tracker } = ctx.live;
    const queues = { locks: queuesOf(mirror, 'locks'), semaphores: queuesOf(mirror, 'semaphores'), elections: queuesOf(mirror, 'elections') };
    const byLease = instancesByLease(mirror.list('services'), mirror.ns);
    const ttls = await leaseTtls(ctx, [...queues.locks.values(), ...queues.semaphores.values(), ...queues.elections.values()].flat());
    const entry = (k: QueueKey, holder: boolean): QueueEntryView => ({
      key: k.key,
      lease: k.leaseHex,
      instance: ownerOf(k, byLease),
      createRevision: k.createRevision,
      fencingToken: k.createRevision,
      value: k.value.toString(),
      since: (holder ? tracker.holderSince(k) : undefined) ?? k.seen,
      leaseTtl: ttls.get(k.lease) ?? null,
    });
    const split = (area: 'locks' | 'semaphores' | 'elections', q: QueueKey[]) => {
      const n = holderCount(area, q);
      return { holders: q.slice(0, n).map((k) => entry(k, true)), waiters: q.slice(n).map((k) => entry(k, false)) };
    };
    const locks: LockView[] = [...queues.locks].map(([name, q]) => {
      const { holders, waiters } = split('locks', q);
      return { name, holder: holders[0] ?? null, waiters };
    });
    const semaphores: SemaphoreView[] = [...queues.semaphores].map(([name, q]) => ({ name, permits: permitsOf(q), ...split('semaphores', q) }));
    const names = new Set([...queues.elections.keys(), ...tracker.electionNames()]);
    const elections: ElectionView[] = [...names].sort().map((name) => {
      const { holders, waiters } = split('elections', queues.elections.get(name) ?? []);
      return { name, leader: holders[0] ?? null, candidates: waiters, history: tracker.history(name) };
    });
    return { revision: mirror.revision, locks, semaphores, elections };
  });
}

async function leaseTtls(ctx: AdminContext, keys: QueueKey[]): Promise<Map<string, { granted: number; remaining: number }>> {
  // While etcd is unreachable the last known queues show without TTLs rather than wait for each look-up to time out.
  if (ctx.live.stale) return new Map();
  const ids = [...new Set(keys.map((k) => k.lease).filter((l) => l !== '0'))].slice(0, MAX_LEASE_LOOKUPS);
  const out = new Map<string, { granted: number; remaining: number }>();
  await Promise.all(
    ids.map(async (id) => {
      try {
        const r = await ctx.coord.etcd.leaseTimeToLive(id, { timeoutMs: 2000 });
        if (r.ttl >= 0) out.set(id, { granted: r.grantedTtl, remaining: r.ttl });
      } catch {
        // no TTL shown for this lease: the view is still right without it
      }
    }),
  );
  return out;
}
