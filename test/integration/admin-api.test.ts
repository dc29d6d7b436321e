// The admin API over real HTTP against a real coord store and a real etcd, with the same
// assertions: every endpoint, and every error a caller can cause answered with a 4xx that says
// what is wrong. State is set up and checked through the library.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { startAdmin, type AdminHandle } from '../../src/admin/index.ts';
import type { ConfigDetail, ConfigNamespaceView, ConfigVersionView, CoordinationView, DiffView, KvListing, KvValueView, Overview, ServicesView } from '../../src/admin/api-types.ts';
import { z } from 'zod';
import { connect, type Coord, type ConfigValue } from '../../src/index.ts';
import { http, openSse, servers, waitFor, type Server } from './admin-fixture.ts';

for (const server of servers) {
  describe(`admin API against ${server.name}`, { skip: server.skip, concurrency: true }, () => {
    let running: Server | undefined;
    let tests = 0;
    before(async () => {
      running = await server.start();
    });
    after(() => running?.stop());

    /** A test's own namespace, admin server (API only) and library client; all closed when it ends. */
    async function setup(t: TestContext): Promise<{ ns: string; admin: AdminHandle; lib: Coord; api: <T = any>(method: string, path: string, body?: unknown) => ReturnType<typeof http<T>> }> {
      const ns = `/adm-t${++tests}/`;
      const lib = connect({ endpoints: running!.endpoint, namespace: ns });
      const admin = await startAdmin({ endpoints: running!.endpoint, namespace: ns, dashboard: false, instanceMetrics: false });
      t.after(async () => {
        await admin.close();
        await lib.close();
      });
      // Keys written from here on reach the admin live (its first read is done), so their
      // registeredSince is exact, not "seen at start-up".
      await waitFor(async () => (await http(admin.url, 'GET', '/api/services')).status === 200, 30_000, 'the namespace watch');
      return { ns, admin, lib, api: (method, path, body) => http(admin.url, method, path, { body }) };
    }

    it('info and overview: cluster status, members, counts and the events observed', async (t) => {
      const { ns, admin, lib, api } = await setup(t);
      const info = await api('GET', '/api/info');
      assert.equal(info.status, 200);
      assert.deepEqual({ ...info.body, startedAt: undefined }, { namespace: ns, endpoints: [running!.endpoint], readOnly: false, authRequired: false, startedAt: undefined, metricsAvailable: false });

      const reg = await lib.register({ id: 'o1', name: 'orders', endpoints: ['grpc://127.0.0.1:1'] });
      t.after(() => reg.deregister());
      await lib.config.publish('shop', 'a.json', { n: 1 }, { author: 'ana', message: 'first' });
      const lock = await lib.lock('jobs');
      t.after(() => lock.release());
      const o = await waitFor(async () => {
        const r = await api<Overview>('GET', '/api/overview');
        return r.body.events?.length >= 3 && r.body.counts.locks === 1 ? r : undefined;
      }, 30_000, 'the overview to show the three changes');
      assert.equal(o.status, 200);
      const { cluster, counts, events, watch } = o.body;
      assert.equal(cluster.kind, server.name);
      assert.equal(cluster.members.length, 1);
      assert.equal(cluster.members[0].isLeader, true);
      assert.ok(cluster.members[0].status, `member status: ${cluster.members[0].error}`);
      assert.ok(cluster.revision >= lock.fencingToken && cluster.dbSize > 0);
      // One lease: the client's registration and lock share its session.
      assert.deepEqual({ ...counts, leases: undefined }, { services: 1, instances: 1, serving: 1, draining: 0, leases: undefined, leasesInNamespace: 1, locks: 1, lockWaiters: 0, semaphores: 0, elections: 0, configKeys: 1 });
      assert.ok(counts.leases! >= 2);
      assert.equal(watch.connected, true);
      assert.deepEqual(
        events.map((e) => [e.area, e.kind, e.subject]).reverse(),
        [
          ['services', 'registered', 'orders'],
          ['config', 'published', 'shop/a.json'],
          ['locks', 'acquired', 'jobs'],
        ],
      );
      assert.match(events[1].summary, /^config shop\/a\.json v1 published by ana: first$/);
      assert.match(events[0].summary, new RegExp(`fencing token ${lock.fencingToken}$`));
      assert.ok(admin.url.startsWith('http://127.0.0.1:'));
    });

    it('services: instances with their fields; drain and weight rewrite the record under its lease', async (t) => {
      const { ns, lib, api } = await setup(t);
      const reg = await lib.register({ id: 'o1', name: 'orders', version: '1.4.0', endpoints: ['grpc://127.0.0.1:1'], metadata: { zone: 'a', weight: 10 } });
      t.after(() => reg.deregister());
      const listed = await waitFor(async () => (await api<ServicesView>('GET', '/api/services')).body.services?.[0], 30_000, 'the instance to be listed');
      const [inst] = listed.instances;
      assert.deepEqual(
        { ...listed, instances: undefined },
        { name: 'orders', format: 'coord', serving: 1, draining: 0, malformed: 0, versions: ['1.4.0'], instances: undefined },
      );
      const before = (await lib.etcd.get(`${ns}services/orders/o1`))!;
      assert.deepEqual(
        { ...inst, registeredSince: undefined },
        {
          id: 'o1', service: 'orders', version: '1.4.0', endpoints: ['grpc://127.0.0.1:1'], zone: 'a', weight: 10, status: 'serving',
          metadata: { zone: 'a', weight: 10 }, key: `${ns}services/orders/o1`, lease: BigInt(before.lease).toString(16),
          createRevision: before.createRevision, modRevision: before.modRevision, registeredSince: undefined, metrics: null,
        },
      );
      assert.equal(inst.registeredSince.exact, true);

      const discovery = lib.discover('orders');
      t.after(() => discovery.close());
      await discovery.ready;
      const drained = await api('PATCH', '/api/services/orders/instances/o1', { status: 'draining', expectedModRevision: before.modRevision });
      assert.equal(drained.status, 200, drained.text);
      assert.equal(drained.body.status, 'draining');
      const after1 = (await lib.etcd.get(`${ns}services/orders/o1`))!;
      assert.equal(after1.lease, before.lease, 'rewritten under the same lease');
      assert.equal(after1.createRevision, before.createRevision);
      await waitFor(() => discovery.snapshot().instances[0]?.status === 'draining', 30_000, 'discovery to see draining');

      const weighted = await api('PATCH', '/api/services/orders/instances/o1', { weight: 3 });
      assert.equal(weighted.status, 200, weighted.text);
      await waitFor(() => discovery.snapshot().instances[0]?.metadata?.weight === 3, 30_000, 'discovery to see weight 3');
      assert.deepEqual(discovery.snapshot().instances[0], { id: 'o1', name: 'orders', version: '1.4.0', endpoints: ['grpc://127.0.0.1:1'], metadata: { zone: 'a', weight: 3 }, status: 'draining' });
      const detail = await waitFor(async () => {
        const r = await api('GET', '/api/services/orders');
        return r.body.instances?.[0]?.weight === 3 ? r : undefined;
      }, 30_000, 'the API to show weight 3');
      assert.equal(detail.body.draining, 1);

      // A change made against a record that changed since is refused, not applied over it.
      const stale = await api('PATCH', '/api/services/orders/instances/o1', { status: 'serving', expectedModRevision: before.modRevision });
      assert.equal(stale.status, 409, stale.text);
      assert.match(stale.body.message, /changed since mod revision/);
      assert.equal(discovery.snapshot().instances[0].status, 'draining');

      for (const [body, pattern] of [
        [{ status: 'paused' }, /status/],
        [{ weight: -1 }, /weight/],
        [{ weight: 1.5 }, /weight/],
        [{}, /give status and\/or weight/],
        [{ status: 'serving', extra: true }, /extra/],
      ] as const) {
        const r = await api('PATCH', '/api/services/orders/instances/o1', body);
        assert.deepEqual([r.status, r.body.error], [400, 'invalid-argument'], r.text);
        assert.match(r.body.message, pattern);
      }
      const notJson = await api('PATCH', '/api/services/orders/instances/o1', '{"status":');
      assert.equal(notJson.status, 400, notJson.text);
      const missing = await api('PATCH', '/api/services/orders/instances/nope', { status: 'draining' });
      assert.deepEqual([missing.status, missing.body.error], [404, 'not-found']);
      assert.equal((await api('GET', '/api/services/nope')).status, 404);

      // Deregistering removes it from the API.
      await reg.deregister();
      await waitFor(async () => (await api('GET', '/api/services/orders')).status === 404, 30_000, 'the instance to vanish');
      assert.deepEqual((await api<ServicesView>('GET', '/api/services')).body.services, []);
    });

    it('services: a malformed record is listed and flagged, and cannot be patched', async (t) => {
      const { ns, lib, api } = await setup(t);
      await lib.etcd.put(`${ns}services/odd/x1`, 'not json');
      const s = await waitFor(async () => (await api<ServicesView>('GET', '/api/services')).body.services?.[0], 30_000, 'the malformed record');
      assert.equal(s.malformed, 1);
      assert.equal(s.instances[0].malformed, 'value is not JSON');
      const r = await api('PATCH', '/api/services/odd/instances/x1', { status: 'draining' });
      assert.deepEqual([r.status, r.body.error], [409, 'conflict']);
    });

    it('config: list, get, validate, publish (with a subscriber), conflicts and removal', async (t) => {
      const { lib, api } = await setup(t);
      const seen: Array<ConfigValue | undefined> = [];
      const sub = lib.config.subscribe('shop', 'limits.json', (v) => seen.push(v));
      t.after(() => sub.close());
      await sub.ready;

      assert.deepEqual((await api('GET', '/api/config')).body, []);
      assert.equal((await api('GET', '/api/config/shop/limits.json')).status, 404);

      const okJson = await api('POST', '/api/config/shop/limits.json/validate', { value: '{"maxItems": 10}', format: 'json' });
      assert.deepEqual([okJson.status, okJson.body], [200, { ok: true }]);
      const badJson = await api('POST', '/api/config/shop/limits.json/validate', { value: '{"maxItems": }', format: 'json' });
      assert.equal(badJson.body.ok, false);
      assert.match(badJson.body.message, /not valid JSON/);
      const okYaml = await api('POST', '/api/config/shop/db.yaml/validate', { value: 'pool: 10\nhosts:\n  - a\n', format: 'yaml' });
      assert.deepEqual(okYaml.body, { ok: true });
      const badYaml = await api('POST', '/api/config/shop/db.yaml/validate', { value: 'pool: [1, 2\n', format: 'yaml' });
      assert.equal(badYaml.body.ok, false);
      assert.deepEqual((await api('POST', '/api/config/shop/t/validate', { value: '{ anything', format: 'text' })).body, { ok: true });

      const v1 = await api<ConfigVersionView>('PUT', '/api/config/shop/limits.json', { value: '{\n  "maxItems": 10\n}\n', format: 'json', expectedVersion: 0, author: 'ana', message: 'first' });
      assert.equal(v1.status, 200, v1.text);
      assert.deepEqual({ ...v1.body, publishedAt: undefined, revision: undefined }, { raw: '{\n  "maxItems": 10\n}\n', format: 'json', version: 1, author: 'ana', message: 'first', publishedAt: undefined, revision: undefined });
      await waitFor(() => seen.at(-1)?.version === 1, 30_000, 'the subscriber to receive v1');
      assert.deepEqual(seen.at(-1)!.value, { maxItems: 10 });

      const invalid = await api('PUT', '/api/config/shop/limits.json', { value: '{"maxItems": ', format: 'json' });
      assert.deepEqual([invalid.status, invalid.body.error], [400, 'validation'], invalid.text);
      const conflict = await api('PUT', '/api/config/shop/limits.json', { value: '{"maxItems": 30}', format: 'json', expectedVersion: 0 });
      assert.deepEqual([conflict.status, conflict.body.error], [409, 'conflict']);
      assert.match(conflict.body.message, /the current version is 1/);
      assert.equal((await lib.config.get('shop', 'limits.json'))!.version, 1, 'neither bad publish changed anything');

      const v2 = await api('PUT', '/api/config/shop/limits.json', { value: '{\n  "maxItems": 20\n}\n', format: 'json', expectedVersion: 1 });
      assert.equal(v2.body.version, 2);
      assert.equal(v2.body.author, 'dashboard', 'the default author');
      await waitFor(() => seen.at(-1)?.version === 2, 30_000, 'the subscriber to receive v2');

      // Once a service shares its schema, the editor's validation and publishing both enforce it.
      await lib.config.typed('shop', 'limits.json', z.object({ maxItems: z.number().int().max(50) })).shareSchema();
      const overMax = await api('POST', '/api/config/shop/limits.json/validate', { value: '{"maxItems": 99}', format: 'json' });
      assert.equal(overMax.body.ok, false);
      assert.match(overMax.body.message, /maxItems: .*50/);
      const refused = await api('PUT', '/api/config/shop/limits.json', { value: '{"maxItems": 99}', format: 'json' });
      assert.deepEqual([refused.status, refused.body.error], [400, 'validation'], refused.text);
      assert.equal((await lib.config.get('shop', 'limits.json'))!.version, 2, 'the refused publish changed nothing');

      const detail = await api<ConfigDetail>('GET', '/api/config/shop/limits.json');
      assert.deepEqual(detail.body, { namespace: 'shop', key: 'limits.json', current: v2.body, beta: null });
      await lib.config.publish('shop', 'db.yaml', 'pool: 10\n', { format: 'yaml' });
      const list = await api<ConfigNamespaceView[]>('GET', '/api/config');
      assert.deepEqual(
        list.body.map((n) => [n.namespace, n.keys.map((k) => [k.key, k.version, k.format, k.hasBeta])]),
        [['shop', [['db.yaml', 1, 'yaml', false], ['limits.json', 2, 'json', false]]]],
      );

      for (const [body, pattern] of [
        [{ value: '1' }, /format/],
        [{ value: 1, format: 'json' }, /value/],
        [{ value: '1', format: 'xml' }, /format/],
        [{ value: '1', format: 'json', expectedVersion: -1 }, /expectedVersion/],
      ] as const) {
        const r = await api('PUT', '/api/config/shop/limits.json', body);
        assert.deepEqual([r.status, r.body.error], [400, 'invalid-argument'], r.text);
        assert.match(r.body.message, pattern);
      }

      const removeStale = await api('DELETE', '/api/config/shop/db.yaml?expectedVersion=7');
      assert.equal(removeStale.status, 409);
      const removed = await api('DELETE', '/api/config/shop/db.yaml');
      assert.equal(removed.status, 204);
      assert.equal(await lib.config.get('shop', 'db.yaml'), undefined);
      assert.equal((await api('DELETE', '/api/config/shop/db.yaml')).status, 404);
      // History outlives removal, so the key is still there to look at.
      assert.deepEqual((await api('GET', '/api/config/shop/db.yaml')).body.current, null);
    });

    it('config: history, side-by-side diff, rollback', async (t) => {
      const { lib, api } = await setup(t);
      await lib.config.publish('shop', 'k', 'a\nb\nc\n', { format: 'text', message: 'one' });
      await lib.config.publish('shop', 'k', 'a\nB\nc\nd\n', { format: 'text', message: 'two' });
      const history = await api<ConfigVersionView[]>('GET', '/api/config/shop/k/history');
      assert.deepEqual(history.body.map((v) => [v.version, v.message]), [[2, 'two'], [1, 'one']]);
      assert.deepEqual((await api('GET', '/api/config/shop/k/history?limit=1')).body.length, 1);

      const diff = await api<DiffView>('GET', '/api/config/shop/k/diff?from=1&to=2');
      assert.equal(diff.status, 200, diff.text);
      assert.deepEqual(diff.body.lines, [' a', '-b', '+B', ' c', '+d']);
      assert.deepEqual(diff.body.rows, [
        { kind: 'same', left: { line: 1, text: 'a' }, right: { line: 1, text: 'a' } },
        { kind: 'changed', left: { line: 2, text: 'b' }, right: { line: 2, text: 'B' } },
        { kind: 'same', left: { line: 3, text: 'c' }, right: { line: 3, text: 'c' } },
        { kind: 'added', left: null, right: { line: 4, text: 'd' } },
      ]);
      assert.deepEqual([diff.body.from.version, diff.body.to.version], [1, 2]);

      const rolled = await api('POST', '/api/config/shop/k/rollback', { version: 1, expectedVersion: 2, author: 'ops' });
      assert.equal(rolled.status, 200, rolled.text);
      assert.deepEqual([rolled.body.version, rolled.body.raw, rolled.body.message, rolled.body.author], [3, 'a\nb\nc\n', 'rollback to v1', 'ops']);
      assert.equal((await lib.config.get('shop', 'k'))!.raw, 'a\nb\nc\n');

      const missing = await api('GET', '/api/config/shop/k/diff?from=1&to=9');
      assert.deepEqual([missing.status, missing.body.error], [404, 'not-found']);
      assert.match(missing.body.message, /no version 9/);
      for (const q of ['from=1', 'from=x&to=2', 'from=0&to=1']) assert.equal((await api('GET', `/api/config/shop/k/diff?${q}`)).status, 400, q);
      assert.equal((await api('GET', '/api/config/shop/k/history?limit=0')).status, 400);
      assert.equal((await api('POST', '/api/config/shop/k/rollback', { version: 9 })).status, 404);
      assert.equal((await api('POST', '/api/config/shop/k/rollback', { version: 1, expectedVersion: 1 })).status, 409);
      assert.equal((await api('POST', '/api/config/shop/k/rollback', {})).status, 400);
    });

    it('config: gray release publish, promote, abort', async (t) => {
      const { lib, api } = await setup(t);
      await lib.config.publish('shop', 'flags.json', '{"new": false}', { format: 'json' });
      const canary = lib.config.watch('shop', 'flags.json', { identity: { id: 'o2', labels: { zone: 'b' } } });
      t.after(() => canary.close());
      await canary.ready;

      assert.equal((await api('POST', '/api/config/shop/flags.json/beta/promote', {})).status, 404);
      assert.equal((await api('DELETE', '/api/config/shop/flags.json/beta')).status, 404);
      const badSelector = await api('PUT', '/api/config/shop/flags.json/beta', { value: '{"new": true}', format: 'json', selector: {} });
      assert.deepEqual([badSelector.status, badSelector.body.error], [400, 'invalid-argument']);
      assert.match(badSelector.body.message, /at least one id or label/);
      assert.equal((await api('PUT', '/api/config/shop/flags.json/beta', { value: '{"new": ', format: 'json', selector: { ids: ['o2'] } })).status, 400);

      const beta = await api('PUT', '/api/config/shop/flags.json/beta', { value: '{"new": true}', format: 'json', selector: { labels: { zone: 'b' } }, message: 'try it' });
      assert.equal(beta.status, 200, beta.text);
      assert.deepEqual([beta.body.version, beta.body.selector], [1, { labels: { zone: 'b' } }]);
      await waitFor(() => (canary.current()?.value as { new?: boolean })?.new === true, 30_000, 'the canary to see the beta');
      assert.deepEqual((await api<ConfigDetail>('GET', '/api/config/shop/flags.json')).body.beta?.raw, '{"new": true}');
      assert.equal((await api<ConfigNamespaceView[]>('GET', '/api/config')).body[0].keys[0].hasBeta, true);

      const aborted = await api('DELETE', '/api/config/shop/flags.json/beta');
      assert.equal(aborted.status, 204);
      await waitFor(() => (canary.current()?.value as { new?: boolean })?.new === false, 30_000, 'the canary to return to stable');

      await api('PUT', '/api/config/shop/flags.json/beta', { value: '{"new": true}', format: 'json', selector: { ids: ['o2'] } });
      const promoted = await api('POST', '/api/config/shop/flags.json/beta/promote', { expectedVersion: 1 });
      assert.equal(promoted.status, 200, promoted.text);
      assert.deepEqual([promoted.body.version, promoted.body.raw, promoted.body.message], [2, '{"new": true}', 'promote beta']);
      assert.equal(await lib.config.getBeta('shop', 'flags.json'), undefined);
    });

    it('locks, semaphores and elections: holders, queues in order, fencing tokens, leadership history', async (t) => {
      const { ns, lib, api } = await setup(t);
      const other = connect({ endpoints: running!.endpoint, namespace: ns });
      t.after(() => other.close());
      const held = await lib.lock('inventory/sku-1');
      const waiting = other.lock('inventory/sku-1');
      const leader = await lib.campaign('expiry', 'o1');
      const candidate = other.campaign('expiry', 'o2');
      const permit = await lib.semaphore('pool', 2);
      const view = await waitFor(async () => {
        const r = await api<CoordinationView>('GET', '/api/coordination');
        return r.body.locks?.[0]?.waiters.length === 1 && r.body.elections?.[0]?.candidates.length === 1 && r.body.semaphores?.length === 1 ? r.body : undefined;
      }, 30_000, 'the waiter and the candidate to queue');
      const [lock] = view.locks;
      assert.equal(lock.name, 'inventory/sku-1');
      assert.equal(lock.holder!.fencingToken, held.fencingToken);
      assert.equal(lock.holder!.key, held.key);
      assert.equal(lock.holder!.since.exact, true, 'observed live, so the time is exact');
      assert.equal(lock.holder!.leaseTtl?.granted, 10);
      assert.ok(lock.waiters[0].createRevision > held.fencingToken);
      const [election] = view.elections;
      assert.deepEqual([election.name, election.leader!.value, election.leader!.fencingToken, election.candidates[0].value], ['expiry', 'o1', leader.fencingToken, 'o2']);
      assert.deepEqual(view.semaphores[0].permits, 2);
      assert.equal(view.semaphores[0].holders[0].fencingToken, permit.fencingToken);

      await held.release();
      const next = await waiting;
      await leader.resign();
      const second = await candidate;
      const after2 = await waitFor(async () => {
        const r = (await api<CoordinationView>('GET', '/api/coordination')).body;
        return r.elections?.[0]?.history.length === 2 && r.locks?.[0]?.holder?.fencingToken === next.fencingToken ? r : undefined;
      }, 30_000, 'the hand-over to show');
      assert.deepEqual(after2.locks[0].waiters, []);
      const [now, before] = after2.elections[0].history;
      assert.deepEqual([now.value, now.fencingToken, now.to, before.value, before.fencingToken], ['o2', second.fencingToken, null, 'o1', leader.fencingToken]);
      assert.ok(before.to !== null && Date.parse(before.to) >= Date.parse(before.from.at));
      await Promise.all([next.release(), second.resign(), permit.release()]);
      const empty = await waitFor(async () => {
        const r = (await api<CoordinationView>('GET', '/api/coordination')).body;
        return r.locks?.length === 0 && r.semaphores?.length === 0 && r.elections?.[0]?.leader === null ? r : undefined;
      }, 30_000, 'everything to be released');
      assert.equal(empty.elections[0].history.length, 2, 'history outlives the candidates');
    });

    it('kv browser: keys under a prefix, pages, values decoded, and a live watch', async (t) => {
      const { ns, lib, api, admin } = await setup(t);
      await lib.etcd.put(`${ns}kv/a`, '{"x": 1}');
      await lib.etcd.put(`${ns}kv/b`, 'plain text');
      await lib.etcd.put(`${ns}kv/c`, Buffer.from([0, 1, 2, 0xff]));
      const all = await api<KvListing>('GET', `/api/kv?prefix=${encodeURIComponent(`${ns}kv/`)}`);
      assert.deepEqual(all.body.keys.map((k) => [k.key, k.size, k.lease]), [[`${ns}kv/a`, 8, null], [`${ns}kv/b`, 10, null], [`${ns}kv/c`, 4, null]]);
      assert.equal(all.body.more, false);
      const page1 = await api<KvListing>('GET', `/api/kv?prefix=${encodeURIComponent(`${ns}kv/`)}&limit=2`);
      assert.deepEqual([page1.body.keys.length, page1.body.more], [2, true]);
      const page2 = await api<KvListing>('GET', `/api/kv?prefix=${encodeURIComponent(`${ns}kv/`)}&limit=2&after=${encodeURIComponent(`${ns}kv/b`)}`);
      assert.deepEqual(page2.body.keys.map((k) => k.key), [`${ns}kv/c`]);

      const value = (key: string) => api<KvValueView>('GET', `/api/kv/value?key=${encodeURIComponent(key)}`);
      const a = (await value(`${ns}kv/a`)).body;
      assert.deepEqual([a.encoding, a.json, a.text, a.hex], ['json', { x: 1 }, '{"x": 1}', Buffer.from('{"x": 1}').toString('hex')]);
      const b = (await value(`${ns}kv/b`)).body;
      assert.deepEqual([b.encoding, b.text, b.json], ['utf8', 'plain text', null]);
      const c = (await value(`${ns}kv/c`)).body;
      assert.deepEqual([c.encoding, c.text, c.hex], ['binary', null, '000102ff']);
      const old = await api<KvValueView>('GET', `/api/kv/value?key=${encodeURIComponent(`${ns}kv/a`)}&revision=${a.modRevision}`);
      assert.equal(old.status, 200);

      const missing = await api('GET', `/api/kv/value?key=${encodeURIComponent(`${ns}kv/zz`)}`);
      assert.deepEqual([missing.status, missing.body.error], [404, 'not-found']);
      assert.equal((await api('GET', '/api/kv/value')).status, 400);
      assert.equal((await api('GET', '/api/kv?limit=0')).status, 400);
      assert.equal((await api('GET', `/api/kv/value?key=x&revision=${a.modRevision + 1_000_000}`)).status, 400, 'a future revision');

      const watch = await openSse(admin.url, `/api/kv/watch?prefix=${encodeURIComponent(`${ns}kv/`)}&fromRevision=${all.body.revision + 1}`);
      t.after(() => watch.close());
      assert.equal(watch.status, 200);
      const put = await lib.etcd.put(`${ns}kv/d`, 'new');
      await lib.etcd.put(`${ns}other`, 'not under the prefix');
      const del = await lib.etcd.delete(`${ns}kv/a`);
      await watch.next((e) => e.event === 'changes' && e.data.changes.some((c: { type: string }) => c.type === 'delete'), 30_000, 'the delete');
      const changes = watch.events.filter((e) => e.event === 'changes').flatMap((e) => e.data.changes);
      assert.deepEqual(changes, [
        { type: 'put', key: `${ns}kv/d`, revision: put.revision, size: 3 },
        { type: 'delete', key: `${ns}kv/a`, revision: del.revision, size: 0 },
      ]);
    });

    it('events stream: every change as it is observed, and what was missed after a reconnect', async (t) => {
      const { lib, admin } = await setup(t);
      const sse = await openSse(admin.url, '/api/events');
      t.after(() => sse.close());
      const hello = await sse.next((e) => e.event === 'hello');
      assert.equal(typeof hello.data.watch.connected, 'boolean');
      // Right after start the namespace watch may still be on its first read: a 'watch' event follows.
      await sse.next((e) => (e.event === 'hello' && e.data.watch.connected) || (e.event === 'watch' && e.data.connected), 30_000, 'the watch to connect');
      await lib.config.publish('shop', 'x', 'one', { format: 'text' });
      const first = await sse.next((e) => e.event === 'feed' && e.data.subject === 'shop/x', 30_000, 'the publish');
      assert.equal(first.data.kind, 'published');
      sse.close();
      await lib.config.publish('shop', 'y', 'two', { format: 'text' });
      const again = await openSse(admin.url, `/api/events?after=${first.data.seq}`);
      t.after(() => again.close());
      const missed = await again.next((e) => e.event === 'feed' && e.data.subject === 'shop/y', 30_000, 'the missed publish');
      assert.ok(missed.data.seq > first.data.seq);
      assert.equal(again.events.filter((e) => e.event === 'feed' && e.data.subject === 'shop/x').length, 0, 'nothing seen twice');
      assert.equal((await http(admin.url, 'GET', '/api/events?after=-1')).status, 400);
    });

    it('unknown endpoints are 404 JSON; names the keyspace forbids are 400', async (t) => {
      const { api } = await setup(t);
      const r = await api('GET', '/api/nope');
      assert.deepEqual([r.status, r.body.error], [404, 'not-found']);
      assert.equal((await api('POST', '/api/services')).status, 404);
      assert.equal((await api('GET', '/api/config/a%2Fb/k')).status, 400);
      assert.equal((await api('GET', '/some/page')).status, 503, 'the UI route says the dashboard is off');
    });
  });
}
