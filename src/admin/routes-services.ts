import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CoordError } from '../core/errors.ts';
import { decodeInstance } from '../registry/instance.ts';
import type { InstanceView, ServiceFormat, ServicesView, ServiceView, TopologyView } from './api-types.ts';
import type { AdminContext } from './context.ts';
import { parseInput } from './errors-http.ts';
import { patchInstance } from './instance-actions.ts';
import { leaseHex } from './kv-decode.ts';
import { instanceView } from './instance-view.ts';
import type { MirroredKey } from './keyspace-mirror.ts';

const nameParams = z.object({ name: z.string().min(1) });
const formatQuery = z.object({ format: z.enum(['coord', 'grpc-go', 'kratos', 'go-zero']).optional() });
const instanceParams = z.object({ name: z.string().min(1), id: z.string().min(1) });
const patchBody = z
  .object({
    status: z.enum(['serving', 'draining']).optional(),
    weight: z.number().int().min(0).max(1_000_000).nullable().optional(),
    expectedModRevision: z.number().int().positive().optional(),
  })
  .strict()
  .refine((b) => b.status !== undefined || b.weight !== undefined, 'give status and/or weight');

/** `/api/services`: every service with its instances; drain / undrain and weight changes. */
export function servicesRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get('/api/services', async (): Promise<ServicesView> => {
    await ctx.live.fresh();
    const byName = new Map<string, InstanceView[]>();
    for (const k of ctx.live.mirror.list('services')) {
      const v = view(ctx, k);
      if (!v) continue;
      if (!byName.has(v.service)) byName.set(v.service, []);
      byName.get(v.service)!.push(v);
    }
    const services = [...byName].map(([name, instances]) => serviceView(name, instances, 'coord'));
    const revision = ctx.live.mirror.revision;
    // Foreign registries are read per request, not mirrored: nothing to show of them while etcd is down.
    if (ctx.live.stale) return { revision, services, foreignError: 'the foreign-format registries could not be read: etcd is unreachable' };
    try {
      for (const f of await listForeign(ctx)) services.push(serviceView(f.name, f.instances, f.format, f.prefix));
    } catch (e) {
      const foreignError = `the foreign-format registries could not be read: ${(e as Error).message}`;
      ctx.foreign.logOnce(foreignError);
      return { revision, services, foreignError };
    }
    return { revision, services };
  });

  app.get('/api/services/:name', async (req): Promise<ServiceView & { revision: number }> => {
    const { name } = parseInput(nameParams, req.params, 'path');
    const { format } = parseInput(formatQuery, req.query, 'query');
    await ctx.live.fresh();
    if (format && format !== 'coord') {
      const f = (await listForeign(ctx)).find((s) => s.format === format && s.name === name);
      if (!f) throw new CoordError('not-found', `no ${format} service ${JSON.stringify(name)} is listed`);
      return { ...serviceView(f.name, f.instances, f.format, f.prefix), revision: ctx.live.mirror.revision };
    }
    const prefix = `${ctx.live.mirror.ns}services/${name}/`;
    const instances = ctx.live.mirror
      .list('services')
      .filter((k) => k.key.startsWith(prefix))
      .map((k) => view(ctx, k))
      .filter((v): v is InstanceView => v !== undefined);
    if (instances.length === 0) throw new CoordError('not-found', `no instance of service ${JSON.stringify(name)} is registered`);
    return { ...serviceView(name, instances, 'coord'), revision: ctx.live.mirror.revision };
  });

  // Who calls whom (from the instances' own client metrics); unavailable without a source that knows.
  app.get('/api/topology', async (): Promise<TopologyView> => {
    const edges = ctx.metrics?.topology?.();
    return { available: edges !== undefined, edges: edges ?? [] };
  });

  app.patch('/api/services/:name/instances/:id', async (req) => {
    const { name, id } = parseInput(instanceParams, req.params, 'path');
    const body = parseInput(patchBody, req.body ?? {}, 'body');
    const r = await patchInstance(ctx.coord.etcd, ctx.coord.namespace, name, id, body);
    return { ...r.instance, modRevision: r.modRevision };
  });
}

/** The foreign-format services, tied to coord's instances by lease (see foreign-services.ts). */
function listForeign(ctx: AdminContext) {
  const ns = `${ctx.live.mirror.ns}services/`;
  const coord = ctx.live.mirror.list('services').flatMap((k) => {
    const [service, id, ...rest] = k.key.slice(ns.length).split('/');
    return service && id && rest.length === 0 ? [{ service, id, lease: k.lease }] : [];
  });
  return ctx.foreign.list(coord);
}

function serviceView(name: string, instances: InstanceView[], format: ServiceFormat, prefix?: string): ServiceView {
  const ok = instances.filter((i) => !i.malformed);
  return {
    name,
    format,
    ...(prefix === undefined ? {} : { prefix }),
    instances,
    serving: ok.filter((i) => i.status === 'serving').length,
    draining: ok.filter((i) => i.status === 'draining').length,
    malformed: instances.length - ok.length,
    versions: [...new Set(ok.map((i) => i.version).filter((v): v is string => v !== null))].sort(),
  };
}

/** An instance as the API shows it; a malformed record is listed (flagged) rather than hidden. */
function view(ctx: AdminContext, k: MirroredKey): InstanceView | undefined {
  const rel = k.key.slice(`${ctx.live.mirror.ns}services/`.length).split('/');
  if (rel.length !== 2 || !rel[0] || !rel[1]) return undefined;
  const [service, id] = rel;
  const record = { key: k.key, lease: leaseHex(k.lease), createRevision: k.createRevision, modRevision: k.modRevision, registeredSince: k.seen };
  return instanceView(record, service, decodeInstance(k.value), (i) => ctx.metrics?.metrics(i) ?? null);
}
