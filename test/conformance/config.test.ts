import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { z } from 'zod';
import { connect, isCoordError, type Coord } from '../../src/index.ts';
import type { ConfigValue } from '../../src/config/config-record.ts';
import type { ConfigWatch } from '../../src/config/config-watch.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';
import { coordOn, until } from '../helpers/coord-fixture.ts';

const dbSchema = z.object({ host: z.string(), pool: z.object({ max: z.number().int().max(100) }) });

/** Every value a watch delivers, in order. */
function record<T>(w: ConfigWatch<T>): Array<ConfigValue<T> | undefined> {
  const out: Array<ConfigValue<T> | undefined> = [];
  w.onChange((v) => out.push(v));
  return out;
}

/** `v<version>` or `beta<version>:<raw>` per delivered value, `-` for none: a readable trace. */
const trace = (vs: Array<ConfigValue | undefined>) => vs.map((v) => (v === undefined ? '-' : `${v.beta ? 'beta' : 'v'}${v.version}:${v.raw}`));

for (const backend of backends()) {
  describe(`config center on ${backend.name}`, { skip: backend.skip }, () => {
    const f = useBackend(backend);
    const clients: Coord[] = [];
    afterEach(() => clients.splice(0).forEach((c) => c.close()));

    it('publishes json, yaml and text as a record under <ns>config/<namespace>/<key> and reads them back', async () => {
      const { make, ns } = coordOn(f, 'formats', clients);
      const c = make();
      const j = await c.config.publish('shop', 'db.json', { host: 'db', pool: { max: 10 } }, { author: 'ana', message: 'first' });
      assert.equal(j.version, 1);
      const stored = JSON.parse((await c.etcd.get(`${ns}config/shop/db.json`))!.value.toString());
      assert.deepEqual(Object.keys(stored).sort(), ['author', 'format', 'message', 'publishedAt', 'value', 'version']);
      assert.deepEqual({ ...stored, publishedAt: undefined }, { format: 'json', value: '{\n  "host": "db",\n  "pool": {\n    "max": 10\n  }\n}', version: 1, author: 'ana', message: 'first', publishedAt: undefined });
      assert.deepEqual(JSON.parse((await c.etcd.get(`${ns}config-history/shop/db.json/0000000001`))!.value.toString()), stored);

      const got = await c.config.get('shop', 'db.json');
      assert.deepEqual(got, { value: { host: 'db', pool: { max: 10 } }, raw: stored.value, format: 'json', version: 1, revision: j.revision, author: 'ana', message: 'first', publishedAt: stored.publishedAt });
      assert.ok(!Number.isNaN(Date.parse(got.publishedAt)));

      const yamlText = 'server:\n  port: 8080  # http\n  hosts: [a, "b"]\nflags:\n- x\n- on: true\n';
      await c.config.publish('shop', 'app.yaml', yamlText, { format: 'yaml' });
      const y = await c.config.get('shop', 'app.yaml');
      assert.deepEqual([y?.format, y?.raw, y?.value], ['yaml', yamlText, { server: { port: 8080, hosts: ['a', 'b'] }, flags: ['x', { on: true }] }]);
      await c.config.publish('shop', 'gen.yaml', { a: [1, { b: 'c: d' }], e: '' }, { format: 'yaml' });
      assert.deepEqual((await c.config.get('shop', 'gen.yaml'))?.value, { a: [1, { b: 'c: d' }], e: '' });

      await c.config.publish('shop', 'motd', 'hello\nworld');
      const t = await c.config.get('shop', 'motd');
      assert.deepEqual([t?.value, t?.raw, t?.format, t?.version], ['hello\nworld', 'hello\nworld', 'text', 1]);
      await c.config.publish('ops', 'raw.json', '[1, 2]', { format: 'json' });
      assert.deepEqual((await c.config.get('ops', 'raw.json'))?.value, [1, 2]);

      assert.equal(await c.config.get('shop', 'absent'), undefined);
      assert.deepEqual(await c.config.list(), [
        { namespace: 'ops', keys: ['raw.json'] },
        { namespace: 'shop', keys: ['app.yaml', 'db.json', 'gen.yaml', 'motd'] },
      ]);
      assert.deepEqual(await c.config.list('ops'), [{ namespace: 'ops', keys: ['raw.json'] }]);
    });

    it('rejects text that does not parse in its format, and bad names', async () => {
      const { make } = coordOn(f, 'invalid', clients);
      const c = make();
      await assert.rejects(c.config.publish('a', 'k', '{not json', { format: 'json' }), (e) => isCoordError(e, 'validation') && /not valid JSON/.test(e.message));
      await assert.rejects(c.config.publish('a', 'k', 'x: &anchor 1', { format: 'yaml' }), (e) => isCoordError(e, 'validation') && /line 1: unsupported YAML/.test(e.message));
      await assert.rejects(c.config.publish('a', 'k', 42, { format: 'text' }), (e) => isCoordError(e, 'invalid-argument'));
      await assert.rejects(c.config.publish('a/b', 'k', 'v'), (e) => isCoordError(e, 'invalid-argument') && e.message.includes('"a/b"'));
      await assert.rejects(c.config.publish('a', '', 'v'), (e) => isCoordError(e, 'invalid-argument'));
      assert.equal(await c.config.get('a', 'k'), undefined);
      const aborted = AbortSignal.abort();
      await assert.rejects(c.config.publish('a', 'k', 'v', { signal: aborted }), (e) => isCoordError(e, 'aborted'));
    });

    it('expectedVersion: 0 means must not exist; a mismatch is a conflict that names both versions', async () => {
      const { make } = coordOn(f, 'cas', clients);
      const c = make();
      assert.equal((await c.config.publish('a', 'k', 'one', { expectedVersion: 0 })).version, 1);
      await assert.rejects(c.config.publish('a', 'k', 'x', { expectedVersion: 0 }), (e) => isCoordError(e, 'conflict') && e.message === 'config a/k: expected it not to exist (expectedVersion 0), but the current version is 1');
      assert.equal((await c.config.publish('a', 'k', 'two', { expectedVersion: 1 })).version, 2);
      await assert.rejects(c.config.publish('a', 'k', 'x', { expectedVersion: 1 }), (e) => isCoordError(e, 'conflict') && e.message === 'config a/k: expected version 1, but the current version is 2');
      await assert.rejects(c.config.publish('a', 'new', 'x', { expectedVersion: 3 }), (e) => isCoordError(e, 'conflict') && e.message === 'config a/new: expected version 3, but it does not exist');
      const racers = await Promise.allSettled([make(), make(), make(), make()].map((o, i) => o.config.publish('a', 'k', `r${i}`, { expectedVersion: 2 })));
      assert.equal(racers.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one writer wins');
      assert.ok(racers.every((r) => r.status === 'fulfilled' || isCoordError(r.reason, 'conflict')));
      const free = await Promise.all([make(), make(), make()].map((o, i) => o.config.publish('a', 'k', `f${i}`)));
      assert.deepEqual(free.map((v) => v.version).sort(), [4, 5, 6], 'concurrent writers without expectedVersion each get their own version');
      assert.deepEqual((await c.config.history('a', 'k')).map((h) => h.version), [6, 5, 4, 3, 2, 1]);
    });

    it('a typed handle rejects a value failing its schema, naming every failing path', async () => {
      const { make } = coordOn(f, 'schema', clients);
      const db = make().config.typed('shop', 'db', dbSchema);
      await assert.rejects(
        db.publish({ host: 7, pool: { max: 500 } } as never),
        (e) => isCoordError(e, 'validation') && e.message.startsWith('config shop/db: invalid value: ') && /host: .*expected string/.test(e.message) && /pool\.max: .*<=100/.test(e.message),
      );
      assert.equal(await db.get(), undefined, 'nothing was written');
      const ok = await db.publish({ host: 'h', pool: { max: 5 } });
      assert.deepEqual([ok.version, ok.value], [1, { host: 'h', pool: { max: 5 } }]);
      const yaml = make().config.typed('shop', 'db.yaml', dbSchema, { format: 'yaml' });
      const y = await yaml.publish({ host: 'h', pool: { max: 5 } });
      assert.deepEqual([y.format, y.raw, (await yaml.get())?.value], ['yaml', 'host: h\npool:\n  max: 5\n', { host: 'h', pool: { max: 5 } }]);
    });

    it('a shared schema checks untyped publishes, betas and validate() too; nothing invalid is written', async () => {
      const { make, ns } = coordOn(f, 'shared', clients);
      const [svc, ops] = [make(), make()];
      const typed = svc.config.typed('shop', 'db', dbSchema);
      await typed.shareSchema();
      const stored = JSON.parse((await ops.etcd.get(`${ns}config-schema/shop/db`))!.value.toString());
      assert.deepEqual(stored.required, ['host', 'pool']);
      assert.deepEqual(await ops.config.schema('shop', 'db'), stored);
      const rev = (await ops.etcd.get(`${ns}config-schema/shop/db`))!.modRevision;
      await typed.shareSchema();
      assert.equal((await ops.etcd.get(`${ns}config-schema/shop/db`))!.modRevision, rev, 'an unchanged schema is not rewritten');

      const failing = (e: unknown) =>
        isCoordError(e, 'validation') && e.message.includes(`schema shared at ${ns}config-schema/shop/db`) && /pool\.max: .*100/.test(e.message);
      await assert.rejects(ops.config.publish('shop', 'db', '{"host":"h","pool":{"max":500}}', { format: 'json' }), failing);
      await assert.rejects(ops.config.publish('shop', 'db', 'host: h\npool:\n  max: 500\n', { format: 'yaml' }), failing);
      await assert.rejects(ops.config.publishBeta('shop', 'db', { host: 'h', pool: { max: 500 } }, { selector: { ids: ['x'] } }), failing);
      await assert.rejects(ops.config.validate('shop', 'db', '{"host":"h","pool":{"max":500}}', 'json'), failing);
      await assert.rejects(ops.config.validate('shop', 'db', '{"host":', 'json'), (e) => isCoordError(e, 'validation'));
      assert.equal(await ops.config.get('shop', 'db'), undefined, 'nothing was written');
      assert.equal(await ops.config.getBeta('shop', 'db'), undefined);
      await ops.config.validate('shop', 'db', '{"host":"h","pool":{"max":5}}', 'json');
      const ok = await ops.config.publish('shop', 'db', '{"host":"h","pool":{"max":5}}', { format: 'json' });
      assert.equal(ok.version, 1);
      // Keys without a shared schema are not checked.
      await ops.config.publish('shop', 'other', '{"anything":1}', { format: 'json' });
    });

    it('a typed subscriber keeps its last good value and reports an invalid one', async () => {
      const { make, ns } = coordOn(f, 'badvalue', clients);
      const [c, o] = [make(), make()];
      const errors: string[] = [];
      const w = o.config.typed('shop', 'db', dbSchema).subscribe(() => {}, { onError: (e) => errors.push(`${e.code}: ${e.message}`) });
      const seen = record(w);
      await w.ready;
      await c.config.typed('shop', 'db', dbSchema).publish({ host: 'a', pool: { max: 1 } });
      await c.config.publish('shop', 'db', { host: 'b', pool: { max: 1000 } }); // bypasses the schema
      await until(() => errors.length === 1, 10_000, 'the invalid value to be reported');
      assert.match(errors[0], /^validation: config shop\/db v2: invalid value: pool\.max: /);
      assert.equal(w.current()?.version, 1);
      assert.deepEqual(w.current()?.value, { host: 'a', pool: { max: 1 } });
      await c.etcd.put(`${ns}config/shop/db`, 'not a record');
      await until(() => errors.length === 2, 10_000, 'the malformed record to be reported');
      assert.match(errors[1], /^validation: config shop\/db at revision \d+: not a coord config record/);
      await c.config.publish('shop', 'db', { host: 'c', pool: { max: 2 } });
      await until(() => w.current()?.value.host === 'c');
      assert.deepEqual(seen.map((v) => v?.value.host), [undefined, 'a', 'c']);
      assert.equal(w.current()?.version, 3, 'publishing over the malformed record continues from history');
    });

    it('hot reload: a subscriber gets the initial value, then every version in order', async () => {
      const { make } = coordOn(f, 'reload', clients);
      const [c, o] = [make(), make()];
      await c.config.publish('app', 'limits', { n: 0 });
      const seen: Array<ConfigValue | undefined> = [];
      const w = o.config.subscribe('app', 'limits', (v) => seen.push(v));
      await w.ready;
      for (let n = 1; n <= 20; n++) await c.config.publish('app', 'limits', { n });
      await until(() => seen.at(-1)?.version === 21);
      assert.deepEqual(seen.map((v) => v?.version), Array.from({ length: 21 }, (_, i) => i + 1));
      assert.deepEqual(seen.map((v) => (v?.value as { n: number }).n), Array.from({ length: 21 }, (_, i) => i));
      const revs = seen.map((v) => v!.revision);
      assert.deepEqual(revs, [...revs].sort((a, b) => a - b));
      await c.config.remove('app', 'limits');
      await until(() => seen.length === 22);
      assert.equal(seen[21], undefined, 'removal is delivered as undefined');
      w.close();
    });

    it('history, get and a running subscriber survive compaction', async () => {
      const { make, ns } = coordOn(f, 'compact', clients);
      const [c, o] = [make(), make()];
      const first = await c.config.publish('app', 'feature', 'off', { author: 'ana', message: 'initial' });
      const w = o.config.watch('app', 'feature');
      const seen = record(w);
      await w.ready;
      await c.config.publish('app', 'feature', 'on', { author: 'bob', message: 'enable' });
      const third = await c.config.publish('app', 'feature', 'beta', { author: 'cy' });
      await c.etcd.compact(third.revision);
      await assert.rejects(c.etcd.get(`${ns}config/app/feature`, { revision: first.revision }), (e) => isCoordError(e, 'compacted'));
      const h = await c.config.history('app', 'feature');
      assert.deepEqual(
        h.map((v) => [v.version, v.value, v.author, v.message]),
        [[3, 'beta', 'cy', ''], [2, 'on', 'bob', 'enable'], [1, 'off', 'ana', 'initial']],
      );
      assert.equal(h[2].revision, first.revision);
      assert.deepEqual((await c.config.history('app', 'feature', { limit: 1 })).map((v) => v.version), [3]);
      assert.equal((await c.config.get('app', 'feature'))?.raw, 'beta');
      await c.config.publish('app', 'feature', 'ga');
      await until(() => seen.at(-1)?.version === 4);
      assert.deepEqual(trace(seen), ['v1:off', 'v2:on', 'v3:beta', 'v4:ga']);
      assert.deepEqual(await c.config.diff('app', 'feature', 1, 4), ['-off', '+ga']);
    });

    it('a subscriber whose watch must resume past a compaction re-reads and carries on', async () => {
      const { make, ns } = coordOn(f, 'resync', clients);
      const lines: string[] = [];
      const c = make();
      const o = connect({ endpoints: [f.endpoint], namespace: ns, log: (l) => lines.push(l) });
      clients.push(o);
      await c.config.publish('app', 'k', 'v1');
      const w = o.config.watch('app', 'k');
      const seen = record(w);
      await w.ready;
      // Hold the watch stream down while the key moves on and the history it would resume from is compacted.
      const wm = o.etcd.watches as unknown as { open: () => Promise<unknown>; stream?: { cancel(): void } };
      const open = wm.open;
      let release = () => {};
      const gate = new Promise<void>((r) => (release = r));
      wm.open = async () => (await gate, open());
      wm.stream!.cancel();
      await c.config.publish('app', 'k', 'v2');
      const v3 = await c.config.publish('app', 'k', 'v3');
      await c.etcd.compact(v3.revision);
      release();
      await until(() => w.current()?.version === 3, 10_000, 'the re-read');
      await c.config.publish('app', 'k', 'v4');
      await until(() => w.current()?.version === 4);
      assert.deepEqual(trace(seen), ['v1:v1', 'v3:v3', 'v4:v4'], 'v2 was compacted away before it could be delivered');
      assert.ok(lines.some((l) => l.startsWith('config app/k: ') && l.includes('compacted') && l.endsWith('re-reading')), lines.join('\n'));
    });

    it('diff gives a line diff between two versions', async () => {
      const { make } = coordOn(f, 'diff', clients);
      const c = make();
      await c.config.publish('app', 'conf', 'a\nb\nc\n');
      await c.config.publish('app', 'conf', 'a\nB\nc\nd\n');
      assert.deepEqual(await c.config.diff('app', 'conf', 1, 2), [' a', '-b', '+B', ' c', '+d']);
      assert.deepEqual(await c.config.diff('app', 'conf', 2, 1), [' a', '-B', '+b', ' c', '-d']);
      assert.deepEqual(await c.config.diff('app', 'conf', 1, 1), [' a', ' b', ' c']);
      await assert.rejects(c.config.diff('app', 'conf', 1, 3), (e) => isCoordError(e, 'not-found') && e.message === 'config app/conf: no version 3 in history');
    });

    it('rollback publishes an old value as a new version; history stays append-only', async () => {
      const { make } = coordOn(f, 'rollback', clients);
      const c = make();
      await c.config.publish('app', 'conf', { a: 1 }, { author: 'ana' });
      await c.config.publish('app', 'conf', { a: 2 }, { author: 'bob' });
      const r = await c.config.rollback('app', 'conf', 1, { author: 'ops' });
      assert.deepEqual([r.version, r.value, r.author, r.message], [3, { a: 1 }, 'ops', 'rollback to v1']);
      assert.deepEqual((await c.config.get('app', 'conf'))?.value, { a: 1 });
      assert.deepEqual((await c.config.history('app', 'conf')).map((h) => [h.version, h.value, h.message]), [
        [3, { a: 1 }, 'rollback to v1'],
        [2, { a: 2 }, ''],
        [1, { a: 1 }, ''],
      ]);
      await assert.rejects(c.config.rollback('app', 'conf', 2, { expectedVersion: 2 }), (e) => isCoordError(e, 'conflict'));
      await assert.rejects(c.config.rollback('app', 'conf', 9), (e) => isCoordError(e, 'not-found'));
      assert.equal(await c.config.remove('app', 'conf'), true);
      assert.equal((await c.config.rollback('app', 'conf', 2)).version, 4, 'versions continue after a removal');
    });

    it('gray release: routes by id and by label, switches live on publish, abort and promote', async () => {
      const { make } = coordOn(f, 'gray', clients);
      const [c, o] = [make(), make()];
      await c.config.publish('app', 'flags', 'stable-1');
      const watches = {
        byId: o.config.watch('app', 'flags', { identity: { id: 'i1' } }),
        byLabel: o.config.watch('app', 'flags', { identity: { id: 'i2', labels: { zone: 'b', tier: 'web' } } }),
        other: o.config.watch('app', 'flags', { identity: { id: 'i3', labels: { zone: 'a' } } }),
        anonymous: o.config.watch('app', 'flags'),
      };
      const seen = Object.fromEntries(Object.entries(watches).map(([k, w]) => [k, record(w)]));
      await Promise.all(Object.values(watches).map((w) => w.ready));
      await assert.rejects(c.config.publishBeta('app', 'flags', 'x', { selector: {} }), (e) => isCoordError(e, 'invalid-argument') && /at least one id or label/.test(e.message));
      await assert.rejects(c.config.promote('app', 'flags'), (e) => isCoordError(e, 'not-found'));

      const selector = { ids: ['i1'], labels: { zone: 'b' } };
      const beta = await c.config.publishBeta('app', 'flags', 'beta-1', { selector, author: 'ana', message: 'try' });
      assert.deepEqual([beta.beta, beta.version, beta.selector], [true, 1, selector]);
      await until(() => watches.byId.current()?.beta && watches.byLabel.current()?.beta);
      assert.equal((await c.config.get('app', 'flags', { identity: { id: 'i1' } }))?.raw, 'beta-1');
      assert.equal((await c.config.get('app', 'flags', { identity: { id: 'i3', labels: { zone: 'a' } } }))?.raw, 'stable-1');
      assert.equal((await c.config.getBeta('app', 'flags'))?.raw, 'beta-1');

      assert.equal(await c.config.abort('app', 'flags'), true);
      await until(() => !watches.byId.current()?.beta && !watches.byLabel.current()?.beta);
      assert.equal(await c.config.abort('app', 'flags'), false);

      await c.config.publishBeta('app', 'flags', 'beta-2', { selector });
      await until(() => watches.byId.current()?.raw === 'beta-2' && watches.byLabel.current()?.raw === 'beta-2');
      const promoted = await c.config.promote('app', 'flags', { author: 'ops' });
      assert.deepEqual([promoted.version, promoted.raw, promoted.author, promoted.message], [2, 'beta-2', 'ops', 'promote beta']);
      await until(() => Object.values(watches).every((w) => w.current()?.version === 2 && !w.current()?.beta));
      assert.equal(await c.config.getBeta('app', 'flags'), undefined);

      const matching = ['v1:stable-1', 'beta1:beta-1', 'v1:stable-1', 'beta1:beta-2', 'v2:beta-2'];
      assert.deepEqual(trace(seen.byId), matching, 'never back to stable-1 between beta-2 and its promotion');
      assert.deepEqual(trace(seen.byLabel), matching);
      assert.deepEqual(trace(seen.other), ['v1:stable-1', 'v2:beta-2']);
      assert.deepEqual(trace(seen.anonymous), ['v1:stable-1', 'v2:beta-2']);
      assert.deepEqual((await c.config.history('app', 'flags')).map((h) => [h.version, h.raw]), [[2, 'beta-2'], [1, 'stable-1']]);
    });

    it('watches close with the client, on close(), and when their signal aborts; they iterate', async () => {
      const { make } = coordOn(f, 'close', clients);
      const [c, o] = [make(), make()];
      await c.config.publish('app', 'k', 'a');
      const ac = new AbortController();
      const w = o.config.watch('app', 'k', { signal: ac.signal });
      const got: string[] = [];
      const done = (async () => {
        for await (const v of w) got.push(v?.raw ?? '-');
      })();
      await until(() => got.length === 1);
      await c.config.publish('app', 'k', 'b');
      await until(() => got.length === 2);
      ac.abort();
      await done;
      assert.deepEqual(got, ['a', 'b']);
      await c.config.publish('app', 'k', 'c');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(w.current()?.raw, 'b', 'a closed watch stops following');
      {
        using scoped = o.config.watch('app', 'k');
        await scoped.ready;
        assert.equal(scoped.current()?.raw, 'c');
      }
    });
  });
}
