import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CoordError, isCoordError } from '../core/errors.ts';
import { op } from '../client/etcd-client.ts';
import { lineDiff } from '../config/config-diff.ts';
import type { ConfigValue } from '../config/config-record.ts';
import type { BetaValue } from '../config/gray-release.ts';
import type { BetaView, ConfigDetail, ConfigFormatName, ConfigKeySummary, ConfigNamespaceView, ConfigVersionView, DiffView, ValidationResult } from './api-types.ts';
import type { AdminContext } from './context.ts';
import { parseInput } from './errors-http.ts';
import { sideBySide } from './side-by-side.ts';

const keyParams = z.object({ namespace: z.string().min(1), key: z.string().min(1) });
const format = z.enum(['json', 'yaml', 'text']);
const version = z.coerce.number().int().positive();
const meta = { author: z.string().max(200).optional(), message: z.string().max(2000).optional() };
const expected = { expectedVersion: z.number().int().nonnegative().optional() };
const valueBody = z.object({ value: z.string(), format }).strict();
const publishBody = z.object({ value: z.string(), format, ...expected, ...meta }).strict();
const rollbackBody = z.object({ version: z.number().int().positive(), ...expected, ...meta }).strict();
const promoteBody = z.object({ ...expected, ...meta }).strict();
const selector = z
  .object({ ids: z.array(z.string().min(1)).optional(), labels: z.record(z.string(), z.string()).optional() })
  .strict()
  .refine((s) => (s.ids?.length ?? 0) + Object.keys(s.labels ?? {}).length > 0, 'a selector needs at least one id or label');
const betaBody = z.object({ value: z.string(), format, selector, ...meta }).strict();
const historyQuery = z.object({ limit: z.coerce.number().int().positive().max(10_000).optional() });
const diffQuery = z.object({ from: version, to: version });
const removeQuery = z.object({ expectedVersion: z.coerce.number().int().nonnegative().optional() });

const versionView = (v: ConfigValue): ConfigVersionView => ({
  raw: v.raw,
  format: v.format,
  version: v.version,
  revision: v.revision,
  author: v.author,
  message: v.message,
  publishedAt: v.publishedAt,
});
const betaView = (b: BetaValue): BetaView => ({ ...versionView(b), selector: b.selector });

/** `/api/config`: keys by namespace, read, validate, publish, remove, history, diff, rollback, gray release. */
export function configRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const config = ctx.coord.config;
  const base = '/api/config/:namespace/:key';
  const keyOf = (params: unknown) => parseInput(keyParams, params, 'path');
  const author = (a: string | undefined) => a ?? ctx.defaultAuthor;

  app.get('/api/config', async (): Promise<ConfigNamespaceView[]> => {
    const root = ctx.coord.namespace;
    const r = await ctx.coord.etcd.txn({ success: [op.get(`${root}config/`, { prefix: true }), op.get(`${root}config-beta/`, { prefix: true, keysOnly: true })] });
    const betas = new Set(r.responses[1].kvs!.map((kv) => kv.key.slice(`${root}config-beta/`.length)));
    const out = new Map<string, ConfigKeySummary[]>();
    for (const kv of r.responses[0].kvs!) {
      const [namespace, key, ...rest] = kv.key.slice(`${root}config/`.length).split('/');
      if (!key || rest.length > 0) continue;
      const s: ConfigKeySummary = { namespace, key, version: null, format: null, author: null, publishedAt: null, revision: kv.modRevision, hasBeta: betas.delete(`${namespace}/${key}`) };
      try {
        const rec = JSON.parse(kv.value.toString()) as Record<string, unknown>;
        if (typeof rec.version !== 'number' || typeof rec.format !== 'string') throw new Error('missing version or format');
        Object.assign(s, { version: rec.version, format: rec.format as ConfigFormatName, author: String(rec.author ?? ''), publishedAt: String(rec.publishedAt ?? '') });
      } catch (e) {
        s.malformed = `not a coord config record (${(e as Error).message})`;
      }
      if (!out.has(namespace)) out.set(namespace, []);
      out.get(namespace)!.push(s);
    }
    // A beta may exist for a key with no stable value yet.
    for (const b of betas) {
      const [namespace, key] = b.split('/');
      if (!key) continue;
      if (!out.has(namespace)) out.set(namespace, []);
      out.get(namespace)!.push({ namespace, key, version: null, format: null, author: null, publishedAt: null, revision: 0, hasBeta: true });
    }
    return [...out].sort(([a], [b]) => (a < b ? -1 : 1)).map(([namespace, keys]) => ({ namespace, keys: keys.sort((a, b) => (a.key < b.key ? -1 : 1)) }));
  });

  app.get(base, async (req): Promise<ConfigDetail> => {
    const { namespace, key } = keyOf(req.params);
    const [current, beta, last] = await Promise.all([config.get(namespace, key), config.getBeta(namespace, key), config.history(namespace, key, { limit: 1 })]);
    if (!current && !beta && last.length === 0) throw new CoordError('not-found', `config ${namespace}/${key} does not exist`);
    return { namespace, key, current: current ? versionView(current) : null, beta: beta ? betaView(beta) : null };
  });

  // Validation only reads; it is a POST because the text goes in the body.
  app.post(`${base}/validate`, async (req): Promise<ValidationResult> => {
    const { namespace, key } = keyOf(req.params);
    const body = parseInput(valueBody, req.body, 'body');
    try {
      await config.validate(namespace, key, body.value, body.format);
      return { ok: true };
    } catch (e) {
      if (isCoordError(e, 'validation')) return { ok: false, message: e.message };
      throw e;
    }
  });

  app.put(base, async (req) => {
    const { namespace, key } = keyOf(req.params);
    const b = parseInput(publishBody, req.body, 'body');
    return versionView(await config.publish(namespace, key, b.value, { format: b.format, expectedVersion: b.expectedVersion, author: author(b.author), message: b.message }));
  });

  app.delete(base, async (req, reply) => {
    const { namespace, key } = keyOf(req.params);
    const { expectedVersion } = parseInput(removeQuery, req.query, 'query');
    if (!(await config.remove(namespace, key, { expectedVersion }))) throw new CoordError('not-found', `config ${namespace}/${key} has no value to remove`);
    return reply.code(204).send();
  });

  app.get(`${base}/history`, async (req) => {
    const { namespace, key } = keyOf(req.params);
    const { limit } = parseInput(historyQuery, req.query, 'query');
    return (await config.history(namespace, key, { limit })).map(versionView);
  });

  app.get(`${base}/diff`, async (req): Promise<DiffView> => {
    const { namespace, key } = keyOf(req.params);
    const { from, to } = parseInput(diffQuery, req.query, 'query');
    const versions = await config.history(namespace, key);
    const find = (v: number) => {
      const found = versions.find((x) => x.version === v);
      if (!found) throw new CoordError('not-found', `config ${namespace}/${key}: no version ${v} in history`);
      return found;
    };
    const [a, b] = [find(from), find(to)];
    const lines = lineDiff(a.raw, b.raw);
    return { from: versionView(a), to: versionView(b), lines, rows: sideBySide(lines) };
  });

  app.post(`${base}/rollback`, async (req) => {
    const { namespace, key } = keyOf(req.params);
    const b = parseInput(rollbackBody, req.body, 'body');
    return versionView(await config.rollback(namespace, key, b.version, { expectedVersion: b.expectedVersion, author: author(b.author), message: b.message }));
  });

  app.put(`${base}/beta`, async (req) => {
    const { namespace, key } = keyOf(req.params);
    const b = parseInput(betaBody, req.body, 'body');
    return betaView(await config.publishBeta(namespace, key, b.value, { format: b.format, selector: b.selector, author: author(b.author), message: b.message }));
  });

  app.post(`${base}/beta/promote`, async (req) => {
    const { namespace, key } = keyOf(req.params);
    const b = parseInput(promoteBody, req.body ?? {}, 'body');
    return versionView(await config.promote(namespace, key, { expectedVersion: b.expectedVersion, author: b.author, message: b.message }));
  });

  app.delete(`${base}/beta`, async (req, reply) => {
    const { namespace, key } = keyOf(req.params);
    if (!(await config.abort(namespace, key))) throw new CoordError('not-found', `config ${namespace}/${key} has no beta to abort`);
    return reply.code(204).send();
  });
}
