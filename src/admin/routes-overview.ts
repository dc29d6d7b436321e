import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { decodeInstance } from '../registry/instance.ts';
import type { ClusterView, Counts, FeedEvent, Overview } from './api-types.ts';
import type { AdminContext } from './context.ts';
import { parseInput } from './errors-http.ts';
import { queuesOf } from './queue-tracker.ts';
import { openSse } from './sse.ts';

const eventsQuery = z.object({ after: z.coerce.number().int().nonnegative().optional() });

/** `/api/info`, `/api/overview` and the live feed `/api/events` (SSE). */
export function overviewRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get('/api/info', async () => ctx.info);

  // The last figures etcd gave, served while it is unreachable (with their time) beside the
  // mirror's last known state, so a page opened during an outage still shows the cluster.
  let last: { cluster: ClusterView; leases: number | null; configKeys: number } | undefined;
  const read = async () => {
    const { coord } = ctx;
    const status = await coord.etcd.status();
    const cluster: ClusterView = {
      kind: status.version.endsWith('-coord') ? 'coord store' : 'etcd',
      version: status.version,
      leader: status.leader,
      memberId: status.memberId,
      raftTerm: status.raftTerm,
      revision: status.revision,
      dbSize: status.dbSize,
      members: [],
    };
    const [members, leases, config] = await Promise.all([
      ctx.cluster.members(status.leader).catch((e: Error) => e),
      ctx.cluster.leaseCount().catch(() => null),
      coord.etcd.range(`${coord.namespace}config/`, { prefix: true, countOnly: true }),
    ]);
    if (members instanceof Error) cluster.membersError = members.message;
    else cluster.members = members;
    last = { cluster: { ...cluster, asOf: new Date().toISOString() }, leases, configKeys: config.count };
    return { cluster, leases, configKeys: config.count };
  };
  // Read once each time the watch (re)connects, so there are figures to show if etcd then goes.
  ctx.live.mirror.onConnected((up) => {
    if (up) {
      read().catch((e: Error) => {
        // Only the cached figures are older for it: the next page load or reconnection reads again.
        ctx.log(`admin: overview figures not read on reconnect (${e.message})`);
      });
    }
  });

  app.get('/api/overview', async (): Promise<Overview> => {
    const { live } = ctx;
    if (live.stale && last) return { cluster: last.cluster, counts: counts(ctx, last.leases, last.configKeys), events: live.feed.recent(), watch: live.state() };
    const { cluster, leases, configKeys } = await read();
    await live.fresh();
    return { cluster, counts: counts(ctx, leases, configKeys), events: live.feed.recent(), watch: live.state() };
  });

  app.get('/api/events', async (req, reply) => {
    const { after } = parseInput(eventsQuery, req.query, 'query');
    const sse = openSse(req, reply, ctx.streams);
    sse.send('hello', { watch: ctx.live.state() });
    // A reconnecting client passes the last seq it saw and gets what it missed (while still kept).
    if (after !== undefined) for (const e of ctx.live.feed.recent().reverse()) if (e.seq > after) sse.send('feed', e);
    const subs = [
      ctx.live.feed.onEvent((e: FeedEvent) => sse.send('feed', e)),
      ctx.live.mirror.onConnected(() => sse.send('watch', ctx.live.state())),
    ];
    await sse.closed;
    for (const s of subs) s.dispose();
  });
}

function counts(ctx: AdminContext, leases: number | null, configKeys: number): Counts {
  const { mirror } = ctx.live;
  const services = new Set<string>();
  let serving = 0;
  let draining = 0;
  const nsLeases = new Set<string>();
  const prefix = `${mirror.ns}services/`;
  const instances = mirror.list('services');
  for (const k of instances) {
    services.add(k.key.slice(prefix.length).split('/')[0]);
    const i = decodeInstance(k.value);
    if (typeof i !== 'string') {
      if (i.status === 'draining') draining++;
      else serving++;
    }
  }
  for (const area of ['services', 'locks', 'semaphores', 'elections'] as const) {
    for (const k of mirror.list(area)) if (k.lease !== '0') nsLeases.add(k.lease);
  }
  const locks = queuesOf(mirror, 'locks');
  return {
    services: services.size,
    instances: instances.length,
    serving,
    draining,
    leases,
    leasesInNamespace: nsLeases.size,
    locks: locks.size,
    lockWaiters: [...locks.values()].reduce((n, q) => n + q.length - 1, 0),
    semaphores: queuesOf(mirror, 'semaphores').size,
    elections: queuesOf(mirror, 'elections').size,
    configKeys,
  };
}
